/**
 * Ending the child processes of kill tests (spawned with spawnEntryPoint, chat-stack.ts): a hard kill, as
 * a crash or the OOM killer would, and a gentle stop for clean-up. Both wait for the exit, within a bound.
 */
import type { ChildProcess } from 'node:child_process';
import type { SseEvent } from './sse-client.ts';

const hasExited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

function exitWithin(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child)) return Promise.resolve(true);
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}

/** SIGKILL: no shutdown hook runs, so Temporal only learns of it when the activity's heartbeat lapses. */
export async function killHard(child: ChildProcess): Promise<void> {
  const exited = exitWithin(child, 5_000);
  child.kill('SIGKILL');
  if (!(await exited)) throw new Error(`process ${child.pid} did not exit within 5 s of SIGKILL`);
}

/** SIGTERM (a worker drains, the API closes its followers); SIGKILL if it is still there after `graceMs`. */
export async function stopGently(child: ChildProcess, graceMs = 20_000): Promise<void> {
  if (hasExited(child)) return;
  const exited = exitWithin(child, graceMs);
  child.kill('SIGTERM');
  if (!(await exited)) await killHard(child);
}

/** Reply deltas only (reasoning arrives as `on_reasoning_delta`), so "after K deltas" means K pieces of reply text. */
export const countDeltas = (events: SseEvent[]) => events.filter((event) => event.data?.event === 'on_message_delta').length;

/** Resolves once the child prints a line matching `pattern` (e.g. the worker's "worker serving"), within `ms`. */
export function outputLine(child: ChildProcess, pattern: RegExp, ms: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const timer = setTimeout(() => done(new Error(`process ${child.pid} printed no ${pattern} within ${ms} ms`)), ms);
    const onData = (chunk: Buffer) => {
      seen = (seen + chunk.toString()).slice(-4096);
      if (pattern.test(seen)) done();
    };
    const onExit = () => done(new Error(`process ${child.pid} exited before printing ${pattern}`));
    function done(error?: Error) {
      clearTimeout(timer);
      child.stdout!.off('data', onData);
      child.off('exit', onExit);
      if (error) reject(error);
      else resolve();
    }
    child.stdout!.on('data', onData);
    child.once('exit', onExit);
  });
}
