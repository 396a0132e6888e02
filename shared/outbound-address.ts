import { Resolver } from 'node:dns/promises';
import { BlockList, isIP } from 'node:net';

/**
 * Addresses a user-chosen URL must not reach: this host, private networks, link-local (cloud metadata at
 * 169.254.169.254), carrier-grade NAT, benchmarking, multicast and reserved ranges, for IPv4 and IPv6
 * (IPv4-mapped IPv6 included). A user-provided base URL (`baseURL: user_provided`) is requested by the
 * worker, inside the deployment's network: without this a user could make it call Redis, PostgreSQL,
 * Temporal or the cloud's metadata service.
 */
const blocked = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15], ['198.51.100.0', 24], ['203.0.113.0', 24],
  ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(network, prefix, 'ipv4');
// ::/96 holds the unspecified and loopback addresses and the deprecated IPv4-compatible form (::7f00:1).
// NAT64 (64:ff9b::/96, 64:ff9b:1::/48), 6to4 (2002::/16) and Teredo (2001::/32) embed an IPv4 address that
// may be a private one; they are refused whole (a DNS64-only network cannot use user base URLs then).
for (const [network, prefix] of [
  ['::', 96], ['fc00::', 7], ['fec0::', 10], ['fe80::', 10], ['ff00::', 8], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['2002::', 16], ['2001::', 32], ['2001:db8::', 32],
] as const) blocked.addSubnet(network, prefix, 'ipv6');

export function isBlockedAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 4) return blocked.check(address, 'ipv4');
  if (family !== 6) return true;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return blocked.check(mapped[1]!, 'ipv4');
  return blocked.check(address, 'ipv6');
}

export type AddressLookup = (hostname: string) => Promise<string[]>;

/**
 * DNS through c-ares with a timeout, not `dns.lookup`: getaddrinfo runs on libuv's four-thread pool with no
 * timeout, so a user whose host's name server never answers could stall the process's file and crypto work.
 */
const resolver = new Resolver({ timeout: 2000, tries: 2 });
const systemLookup: AddressLookup = async (hostname) => {
  const [v4, v6] = await Promise.allSettled([resolver.resolve4(hostname), resolver.resolve6(hostname)]);
  const addresses = [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  if (addresses.length === 0) throw new Error(`${hostname} did not resolve`);
  return addresses;
};

/**
 * Why a user-provided URL may not be called, or undefined when it may: every address its host resolves
 * to must be public. Checked when a run starts (the API) and again when the worker makes the call. A
 * hostile DNS server could still answer differently between this check and the SDK's own lookup (DNS
 * rebinding); the check stops the plain cases, and deployments that need more put the workers behind an
 * egress proxy.
 */
export async function userUrlProblem(url: string, lookup: AddressLookup = systemLookup): Promise<string | undefined> {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a valid URL';
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') return 'only http and https URLs are allowed';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  let addresses: string[];
  try {
    addresses = isIP(host) ? [host] : await lookup(host);
  } catch {
    return `its host ${host} could not be resolved`;
  }
  if (addresses.length === 0) return `its host ${host} could not be resolved`;
  const inside = addresses.find(isBlockedAddress);
  // The address itself is not echoed: a user could otherwise map internal names to addresses.
  return inside ? `its host ${host} is a private or local address; only public addresses may be used` : undefined;
}
