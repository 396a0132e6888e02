/**
 * Idle-followers benchmark (bench/README.md, "Idle followers"). Starts the bench stack (one API, one worker),
 * starts a few long, slow runs, then opens N SSE followers (GET /api/agents/chat/stream/:streamId) spread over
 * them and measures what they cost the API: time to open them all, API RSS and heap before / with all open /
 * after they ended, API CPU seconds while they sit idle for a while (the slow runs still trickle tokens),
 * and the Redis client connections (CLIENT LIST, total and the API's own) before and with N open. Then it
 * stops the runs (POST /api/agents/chat/abort) and checks that every follower received the final event and
 * was closed by the server. Exit code 1 if any follower missed its end (or failed to open).
 * Usage: node --import tsx bench/idle-followers.ts [--followers 5000] [--runs 10] [--tokens 600] [--rate 2]
 *        [--idle-seconds 20] [--open-concurrency 200]   (or npm run bench -- --idle-followers [...])
 */
import http from 'node:http';
import { mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Redis } from 'ioredis';
import { createRedisClient } from '../shared/redis-client.ts';
import { argument, root, startBenchStack } from './bench-stack.ts';
import { cpuSeconds, percentile } from './process-stats.ts';

const followerCount = Number(argument('followers', '5000'));
const runCount = Number(argument('runs', '10'));
const tokens = Number(argument('tokens', '600'));
const rate = Number(argument('rate', '2'));
const idleSeconds = Number(argument('idle-seconds', '20'));
/** Followers whose response headers are awaited at once while opening. */
const openConcurrency = Number(argument('open-concurrency', '200'));
/** After the aborts: how long followers may take to receive their final event and close. */
const endTimeoutMs = Number(argument('end-timeout-ms', '60000'));

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);

// ---------------------------------------------------------------------------------------------------------
// The API's memory: RSS from /proc; heap through a preload (NODE_OPTIONS --require, every child gets it) that
// answers SIGUSR2 with a full GC and process.memoryUsage() written to a file. Only the API is signalled.

const heapDirectory = path.join(root, '.data', 'bench', `idle-followers-${process.pid}`);
const preload = path.join(heapDirectory, 'heap-probe.cjs');

function writePreload(): void {
  mkdirSync(heapDirectory, { recursive: true });
  writeFileSync(
    preload,
    [
      "const v8 = require('node:v8'), vm = require('node:vm'), fs = require('node:fs'), path = require('node:path');",
      'let gc; try { v8.setFlagsFromString("--expose-gc"); gc = vm.runInNewContext("gc"); } catch {}',
      "process.on('SIGUSR2', () => {",
      '  try { if (gc) gc(); } catch {}',
      `  fs.writeFileSync(path.join(${JSON.stringify(heapDirectory)}, 'memory-' + process.pid + '.json'), JSON.stringify(process.memoryUsage()));`,
      '});',
      '',
    ].join('\n'),
  );
}

function rssMiB(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((entry) => entry.startsWith('VmRSS:'))!;
  return Number(line.replace(/\D+/g, '')) / 1024;
}

/** Heap used and RSS after a full GC in the API process, or undefined if the probe did not answer. */
async function heapAfterGc(pid: number): Promise<NodeJS.MemoryUsage | undefined> {
  const file = path.join(heapDirectory, `memory-${pid}.json`);
  rmSync(file, { force: true });
  process.kill(pid, 'SIGUSR2');
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    await sleep(50);
    try {
      if (statSync(file).size > 0) return JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      // Not written yet.
    }
  }
  return undefined;
}

interface MemorySnapshot {
  rss: number;
  heap?: NodeJS.MemoryUsage;
  fds: number;
}

async function memory(pid: number): Promise<MemorySnapshot> {
  const rss = rssMiB(pid);
  return { rss, heap: await heapAfterGc(pid), fds: readdirSync(`/proc/${pid}/fd`).length };
}

const describeMemory = (snapshot: MemorySnapshot) =>
  `RSS ${snapshot.rss.toFixed(1)} MiB, heap used after GC ${snapshot.heap ? mib(snapshot.heap.heapUsed) : '?'} MiB (total ${snapshot.heap ? mib(snapshot.heap.heapTotal) : '?'}, external ${snapshot.heap ? mib(snapshot.heap.external) : '?'}, array buffers ${snapshot.heap ? mib(snapshot.heap.arrayBuffers) : '?'}), open fds ${snapshot.fds}`;

// ---------------------------------------------------------------------------------------------------------
// Redis connections: every line of CLIENT LIST, and those whose client address is a socket of the API process
// (its fds' socket inodes, matched to local ports in /proc/net/tcp{,6}).

function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (match) inodes.add(match[1]!);
    } catch {
      // Closed meanwhile.
    }
  }
  return inodes;
}

/** Local ports of the process's TCP sockets connected to `remotePort`. */
function localPortsTo(pid: number, remotePort: number): Set<number> {
  const inodes = socketInodes(pid);
  const ports = new Set<number>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const fields = line.trim().split(/\s+/);
      if (fields.length < 10 || !inodes.has(fields[9]!)) continue;
      const local = Number.parseInt(fields[1]!.split(':')[1]!, 16);
      const remote = Number.parseInt(fields[2]!.split(':')[1]!, 16);
      if (remote === remotePort) ports.add(local);
    }
  }
  return ports;
}

interface RedisConnections {
  total: number;
  api: number;
  apiNames: string;
}

async function redisConnections(redis: Redis, apiPid: number, redisPort: number): Promise<RedisConnections> {
  const lines = String(await redis.client('LIST')).split('\n').filter((line) => line.trim() !== '');
  const ports = localPortsTo(apiPid, redisPort);
  const apiLines = lines.filter((line) => {
    const port = Number(/ addr=[^ ]*:(\d+) /.exec(` ${line}`)?.[1]);
    return ports.has(port);
  });
  const names = new Map<string, number>();
  for (const line of apiLines) {
    const name = / name=([^ ]*) /.exec(` ${line} `)?.[1] || '(unnamed)';
    names.set(name, (names.get(name) ?? 0) + 1);
  }
  return { total: lines.length, api: apiLines.length, apiNames: [...names].map(([name, count]) => `${name}×${count}`).join(', ') };
}

const describeRedis = (connections: RedisConnections) => `CLIENT LIST ${connections.total} lines (whole Redis server), ${connections.api} of them the API's [${connections.apiNames}]`;

// ---------------------------------------------------------------------------------------------------------
// Followers: plain http.request on an agent without a socket limit; each response is only counted (bytes,
// events) and its last event block checked for `"final":true`.

interface Follower {
  index: number;
  streamId: string;
  status?: number;
  openedMs?: number;
  bytes: number;
  events: number;
  /** Text after the last complete event block (a block is small, except the final one). */
  pending: string;
  sawFinal: boolean;
  /** The server ended the response (clean end of the body). */
  ended: boolean;
  error?: string;
  done: Promise<void>;
}

const agent = new http.Agent({ keepAlive: false, maxSockets: Infinity, maxTotalSockets: Infinity });

function openFollower(baseUrl: string, token: string, index: number, streamId: string, onHeaders: () => void): Follower {
  const follower: Follower = { index, streamId, bytes: 0, events: 0, pending: '', sawFinal: false, ended: false, done: undefined as unknown as Promise<void> };
  const started = performance.now();
  follower.done = new Promise<void>((resolve) => {
    let settled = false;
    const settle = (error?: string) => {
      if (settled) return;
      settled = true;
      if (error && !follower.ended) follower.error = error;
      onHeaders();
      resolve();
    };
    const request = http.request(`${baseUrl}/api/agents/chat/stream/${streamId}`, { agent, headers: { authorization: `Bearer ${token}`, accept: 'text/event-stream' } }, (response) => {
      follower.status = response.statusCode;
      follower.openedMs = performance.now() - started;
      onHeaders();
      if (response.statusCode !== 200) {
        response.resume();
        response.on('end', () => settle(`HTTP ${response.statusCode}`));
        response.on('error', (error) => settle((error as NodeJS.ErrnoException).code ?? error.message));
        return;
      }
      response.on('data', (chunk: Buffer) => {
        follower.bytes += chunk.length;
        let text = follower.pending + chunk.toString('latin1');
        let boundary: number;
        while ((boundary = text.indexOf('\n\n')) !== -1) {
          const block = text.slice(0, boundary);
          text = text.slice(boundary + 2);
          if (block.startsWith(':')) continue;
          follower.events += 1;
          if (block.includes('"final":true')) follower.sawFinal = true;
        }
        follower.pending = text;
      });
      response.on('end', () => {
        follower.ended = true;
        settle();
      });
      response.on('error', (error) => settle((error as NodeJS.ErrnoException).code ?? error.message));
      response.on('close', () => settle(follower.ended ? undefined : 'closed before the end'));
    });
    request.on('error', (error) => settle((error as NodeJS.ErrnoException).code ?? error.message));
    request.end();
  });
  return follower;
}

/** Starts a chat and returns its stream id (the response's x-stream-id); the POST's own stream is left at once. */
function startRun(baseUrl: string, token: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const body = JSON.stringify({ endpoint: 'demo', model: 'demo-fast', text, conversationId: null });
    const request = http.request(`${baseUrl}/api/agents/chat/custom`, { method: 'POST', agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (response) => {
      const streamId = response.headers['x-stream-id'];
      response.destroy();
      if (response.statusCode === 200 && typeof streamId === 'string') resolve(streamId);
      else reject(new Error(`starting a run answered HTTP ${response.statusCode}`));
    });
    request.on('error', reject);
    request.end(body);
  });
}

async function main() {
  writePreload();
  const stack = await startBenchStack({
    environment: {
      NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${preload}`.trim(),
      // One user holds every follower: the per-user open-stream cap must allow them all.
      SSE_MAX_STREAMS_PER_USER: String(followerCount + 100),
      CONCURRENT_MESSAGE_MAX: String(Math.max(2000, runCount + 10)),
    },
  });
  const redisUri = stack.environment.REDIS_URI ?? 'redis://127.0.0.1:6379';
  const redisPort = Number(new URL(redisUri).port || 6379);
  const redis = createRedisClient(redisUri, 'bench-idle-followers');
  let exitCode = 0;
  try {
    const { process: api, baseUrl } = stack.apis[0]!;
    const apiPid = api.pid!;
    const token = await stack.login();
    console.log(`idle followers: ${followerCount} SSE followers spread over ${runCount} runs of ${tokens} tokens at ${rate} tokens/s, one API (pid ${apiPid}), one worker; client opens ${openConcurrency} at a time`);
    const atStart = await redisConnections(redis, apiPid, redisPort);

    const streamIds = await Promise.all(Array.from({ length: runCount }, (_, index) => startRun(baseUrl, token, `idle followers ${stack.runId}-${index} [tokens=${tokens} rate=${rate}]`)));
    // Let the runs reach their first deltas, and the API settle after start-up.
    await sleep(3000);
    const memoryBefore = await memory(apiPid);
    const redisBefore = await redisConnections(redis, apiPid, redisPort);
    console.log(`\nAPI after start-up:              ${describeRedis(atStart)}`);
    console.log(`before opening (runs started):  ${describeMemory(memoryBefore)}`);
    console.log(`                                ${describeRedis(redisBefore)}`);

    // Open every follower, `openConcurrency` awaiting their headers at a time.
    const followers: Follower[] = [];
    const openStarted = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: Math.min(openConcurrency, followerCount) }, async () => {
        while (next < followerCount) {
          const index = next++;
          await new Promise<void>((resolve) => followers.push(openFollower(baseUrl, token, index, streamIds[index % streamIds.length]!, resolve)));
        }
      }),
    );
    const openSeconds = (performance.now() - openStarted) / 1000;
    const open = followers.filter((follower) => follower.status === 200 && !follower.error);
    const failures = new Map<string, number>();
    for (const follower of followers) if (follower.status !== 200 || follower.error) failures.set(follower.error ?? `HTTP ${follower.status}`, (failures.get(follower.error ?? `HTTP ${follower.status}`) ?? 0) + 1);
    const openTimes = followers.flatMap((follower) => (follower.openedMs === undefined ? [] : [follower.openedMs]));
    console.log(
      `\nopened ${open.length} of ${followerCount} followers in ${openSeconds.toFixed(1)} s (time to headers per follower p50/p99/max ${percentile(openTimes, 0.5).toFixed(0)}/${percentile(openTimes, 0.99).toFixed(0)}/${percentile(openTimes, 1).toFixed(0)} ms)` +
        (failures.size > 0 ? `; failed: ${[...failures].map(([reason, count]) => `${reason} ×${count}`).join(', ')}` : ''),
    );

    await sleep(2000);
    const memoryOpen = await memory(apiPid);
    const redisOpen = await redisConnections(redis, apiPid, redisPort);
    console.log(`${`with ${open.length} open:`.padEnd(32)}${describeMemory(memoryOpen)}`);
    console.log(`                                ${describeRedis(redisOpen)}`);
    if (open.length > 0) {
      console.log(
        `per open follower:              RSS +${(((memoryOpen.rss - memoryBefore.rss) * 1024) / open.length).toFixed(1)} KiB, heap used +${memoryOpen.heap && memoryBefore.heap ? ((memoryOpen.heap.heapUsed - memoryBefore.heap.heapUsed) / 1024 / open.length).toFixed(1) : '?'} KiB, fds +${((memoryOpen.fds - memoryBefore.fds) / open.length).toFixed(2)}`,
      );
    }

    // Idle: nothing but the slow runs' tokens (fanned out to every follower) and keep-alives.
    const eventsBefore = followers.reduce((sum, follower) => sum + follower.events, 0);
    const bytesBefore = followers.reduce((sum, follower) => sum + follower.bytes, 0);
    const cpuBefore = cpuSeconds(apiPid);
    const clientCpuBefore = process.cpuUsage();
    const idleStarted = performance.now();
    await sleep(idleSeconds * 1000);
    const idleWall = (performance.now() - idleStarted) / 1000;
    const apiCpu = cpuSeconds(apiPid) - cpuBefore;
    const clientCpu = process.cpuUsage(clientCpuBefore);
    const idleEvents = followers.reduce((sum, follower) => sum + follower.events, 0) - eventsBefore;
    const idleBytes = followers.reduce((sum, follower) => sum + follower.bytes, 0) - bytesBefore;
    const rssIdle = rssMiB(apiPid);
    console.log(
      `\nidle ${idleWall.toFixed(1)} s with ${open.length} open: API CPU ${apiCpu.toFixed(2)} s (${((apiCpu / idleWall) * 100).toFixed(1)} % of one core); followers received ${idleEvents} events, ${mib(idleBytes)} MiB (${(idleEvents / idleWall).toFixed(0)} events/s in all); API RSS at the end ${rssIdle.toFixed(1)} MiB; load generator CPU ${((clientCpu.user + clientCpu.system) / 1e6).toFixed(2)} s`,
    );

    // Stop the runs: every follower should receive the final event and be ended by the server.
    const abortStarted = performance.now();
    const aborts = await Promise.all(
      streamIds.map(async (streamId) => {
        const response = await fetch(`${baseUrl}/api/agents/chat/abort`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify({ streamId }) });
        await response.arrayBuffer();
        return response.status;
      }),
    );
    const abortSeconds = (performance.now() - abortStarted) / 1000;
    let timedOut = false;
    await Promise.race([Promise.all(followers.map((follower) => follower.done)), sleep(endTimeoutMs).then(() => (timedOut = true))]);
    const allEndedSeconds = (performance.now() - abortStarted) / 1000;
    const ended = followers.filter((follower) => follower.sawFinal && follower.ended && !follower.error);
    const finalOnly = followers.filter((follower) => follower.sawFinal && !follower.ended).length;
    const stillOpen = followers.filter((follower) => !follower.ended && !follower.error).length;
    const eventsPerFollower = followers.map((follower) => follower.events);
    console.log(
      `\naborted ${streamIds.length} runs (HTTP ${[...new Set(aborts)].join(', ')}) in ${abortSeconds.toFixed(1)} s; ${timedOut ? `NOT all followers ended within ${endTimeoutMs / 1000} s` : `all followers settled ${allEndedSeconds.toFixed(1)} s after the first abort`}`,
    );
    console.log(
      `followers that received the final event and were closed by the server: ${ended.length} of ${followerCount}` +
        `${finalOnly > 0 ? `; final event but not closed: ${finalOnly}` : ''}${stillOpen > 0 ? `; still open: ${stillOpen}` : ''}` +
        ` (events per follower min/p50/max ${Math.min(...eventsPerFollower)}/${percentile(eventsPerFollower, 0.5)}/${Math.max(...eventsPerFollower)})`,
    );
    if (ended.length !== followerCount) exitCode = 1;

    await sleep(3000);
    const memoryAfter = await memory(apiPid);
    const redisAfter = await redisConnections(redis, apiPid, redisPort);
    console.log(`after they ended:               ${describeMemory(memoryAfter)}`);
    console.log(`                                ${describeRedis(redisAfter)}`);
    console.log(`API peak RSS (VmHWM) ${(Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${apiPid}/status`, 'utf8'))![1]) / 1024).toFixed(1)} MiB`);
  } finally {
    agent.destroy();
    redis.disconnect();
    await stack.shutdown();
    rmSync(heapDirectory, { recursive: true, force: true });
  }
  process.exit(exitCode);
}

await main();
