import { Context } from '@temporalio/activity';
import type { RunStops } from '../shared/run-stops.ts';

/**
 * How often a streaming activity heartbeats (a chat reply, an agent's model step): well inside the 5 s
 * heartbeat timeout (a dead worker is still noticed within seconds), and half as often as the 1 s it was.
 * Each heartbeat costs the Temporal server ~3 ms of CPU whatever it carries (bench/README.md, "Fewer
 * heartbeats"), which made heartbeats a third of the server's work at 200 streams. "Stop" does not wait
 * for the next one: it comes through Redis (shared/run-stops.ts).
 */
export const STREAM_HEARTBEAT_INTERVAL_MS = 2000;

/** After a stop arrives through Redis, the first heartbeat goes this soon (the workflow has had time to cancel the activity), the next ones this often. */
const AFTER_STOP_FIRST_MS = 150;
const AFTER_STOP_EVERY_MS = 500;

/** The user stopped the run: what the activity's own signal is aborted with before Temporal's cancellation arrives. */
export class RunStoppedError extends Error {
  override name = 'RunStoppedError';
}

/**
 * Heartbeats the running activity on a timer with `details()`, and gives it one signal that aborts when
 * either Temporal cancels the activity or the user stops the run (Redis, sooner). After a stop the activity
 * calls `afterStop()` once it has stopped its work: that heartbeats until Temporal's cancellation arrives
 * and throws it, so the workflow sees a cancelled activity as before. If no cancellation comes within the
 * watcher's window (a stop for a run that was not cancelled), it throws a plain error: the attempt is
 * retried and continues after what it streamed, as after a dropped stream.
 */
export function startActivityHeartbeat(options: { details: () => unknown; intervalMs: number; streamId?: string; stops?: RunStops }) {
  const context = Context.current();
  const beat = () => context.heartbeat(options.details());
  const stopped = new AbortController();
  let timer: NodeJS.Timeout = setInterval(beat, options.intervalMs);
  let soon: NodeJS.Timeout | undefined;
  const unwatch =
    options.streamId && options.stops
      ? options.stops.watch(options.streamId, () => {
          if (stopped.signal.aborted || context.cancellationSignal.aborted) return;
          context.log.info('the run was stopped: no more reading from the model; waiting for the cancellation', { streamId: options.streamId });
          stopped.abort(new RunStoppedError('The run was stopped'));
          clearInterval(timer);
          soon = setTimeout(beat, AFTER_STOP_FIRST_MS);
          timer = setInterval(beat, AFTER_STOP_EVERY_MS);
        })
      : () => {};
  const confirmWithinMs = options.stops?.confirmWithinMs ?? 0;
  let confirming: Promise<never> | undefined;
  return {
    /** Aborted when the activity is cancelled or the run stopped, whichever comes first. */
    signal: AbortSignal.any([context.cancellationSignal, stopped.signal]),
    /** Whether the run was stopped through Redis (Temporal's cancellation may or may not have arrived since). */
    get stopped(): boolean {
      return stopped.signal.aborted;
    },
    /**
     * Waits for Temporal's cancellation after a stop (heartbeating) and throws it, at once if it has already
     * arrived; see above. Called again, it throws what it threw the first time without waiting again.
     */
    afterStop(): Promise<never> {
      confirming ??= new Promise<never>((_resolve, reject) => {
        // The cancellation promise rejects with the CancelledFailure the workflow expects; the timer only
        // fires when it has not come (and not at the same moment: then the cancellation wins).
        const timeout = setTimeout(() => {
          if (!context.cancellationSignal.aborted) reject(new Error(`The run was stopped but its activity was not cancelled within ${confirmWithinMs} ms`));
        }, confirmWithinMs);
        context.cancelled.catch((error: unknown) => {
          clearTimeout(timeout);
          reject(error);
        });
      });
      return confirming;
    },
    stop() {
      clearInterval(timer);
      clearTimeout(soon);
      unwatch();
    },
  };
}
