/**
 * What one activity heartbeat costs the Temporal server: a dev server of its own (in memory, free ports), 100
 * workflows at once, each one activity of 10 s that heartbeats every N ms with details of a given size; the
 * server's CPU (from /proc) per run for each cadence. bench/README.md, "Fewer heartbeats".
 *
 *   node --import tsx bench/heartbeat-cost.ts                     # cadences 0, 1000, 2500 ms, two rounds
 *   node --import tsx bench/heartbeat-cost.ts --entries 3000      # heavier details (default 300 entries)
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Context } from '@temporalio/activity';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker, bundleWorkflowCode } from '@temporalio/worker';
import { ensureTemporal, findFreePort } from '../infra/local-services.ts';

const { values } = parseArgs({ options: { entries: { type: 'string', default: '300' }, runs: { type: 'string', default: '100' }, 'duration-ms': { type: 'string', default: '10000' } } });
const entries = Number(values.entries);
const runs = Number(values.runs);
const durationMs = Number(values['duration-ms']);

// Inside the repository (.data/bench), so the workflow file written there resolves @temporalio/workflow.
const benchDirectory = path.resolve(import.meta.dirname, '..', '.data', 'bench');
mkdirSync(benchDirectory, { recursive: true });
const directory = mkdtempSync(path.join(benchDirectory, 'heartbeat-cost-'));
const port = await findFreePort();
const temporal = await ensureTemporal({ address: `127.0.0.1:${port}`, uiPort: await findFreePort(), logDirectory: directory, headless: true });
const serverCpuMs = () => {
  const fields = readFileSync(`/proc/${temporal.child!.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * (1000 / 100);
};

// The shape of a chat reply's heartbeat details (activities/chat/run-writer.ts, AttemptProgress).
const details = { entries: Array.from({ length: entries }, (_, index) => [index + 2, 't', 'token ']) };
let heartbeats = 0;
const activities = {
  async beat(intervalMs: number, forMs: number) {
    const context = Context.current();
    const timer = intervalMs > 0 ? setInterval(() => { heartbeats += 1; context.heartbeat(details); }, intervalMs) : undefined;
    await new Promise((resolve) => setTimeout(resolve, forMs));
    clearInterval(timer);
  },
};
const workflowsPath = path.join(directory, 'workflows.ts');
writeFileSync(
  workflowsPath,
  `import { proxyActivities } from '@temporalio/workflow';
const withHeartbeat = proxyActivities<any>({ startToCloseTimeout: '1 minute', heartbeatTimeout: '5 seconds' });
const without = proxyActivities<any>({ startToCloseTimeout: '1 minute' });
export async function heartbeating(intervalMs: number, forMs: number) { await (intervalMs > 0 ? withHeartbeat : without).beat(intervalMs, forMs); }
`,
);
const quiet = { trace() {}, debug() {}, info() {}, warn() {}, error() {}, log() {} };
const connection = await NativeConnection.connect({ address: `127.0.0.1:${port}` });
const worker = await Worker.create({ connection, taskQueue: 'heartbeat-cost', workflowBundle: await bundleWorkflowCode({ workflowsPath, logger: quiet as never }), activities, maxHeartbeatThrottleInterval: '1 second' });
const running = worker.run();
const client = new Client({ connection: await Connection.connect({ address: `127.0.0.1:${port}` }) });

console.log(`${runs} workflows at once, one activity of ${durationMs} ms each, heartbeat details of ${entries} entries`);
for (const intervalMs of [0, 1000, 2500, 0, 1000, 2500]) {
  heartbeats = 0;
  const before = serverCpuMs();
  await Promise.all(Array.from({ length: runs }, (_, index) => client.workflow.execute('heartbeating', { taskQueue: 'heartbeat-cost', workflowId: `heartbeat-cost-${intervalMs}-${index}-${Date.now()}`, args: [intervalMs, durationMs] })));
  const used = serverCpuMs() - before;
  console.log(`heartbeat every ${intervalMs || '-'} ms: ${heartbeats} heartbeats, Temporal CPU ${(used / runs).toFixed(1)} ms per run`);
}
worker.shutdown();
await running;
await connection.close();
temporal.child?.kill('SIGTERM');
rmSync(directory, { recursive: true, force: true });
process.exit(0);
