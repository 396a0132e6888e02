import { Context } from '@temporalio/activity';
import { startActivityHeartbeat, STREAM_HEARTBEAT_INTERVAL_MS } from '../activity-heartbeat.ts';
import { runKeyLifetimeSeconds, type ChatRunInput } from '../../shared/chat-run.ts';
import { foldReply } from '../../shared/run-content.ts';
import { messageStepId, type StepEvent } from '../../shared/run-events.ts';
import type { ChatActivityDependencies } from '../dependencies.ts';
import { withIdleTimeout } from '../providers/idle-timeout.ts';
import { runEndpoint } from '../providers/run-endpoint.ts';
import { continuationMessages, type PromptMessage } from '../providers/provider.ts';
import { buildPrompt, outputBudget } from './build-prompt.ts';
import { createCoalescingWriter } from './coalescing-writer.ts';
import { relayProviderStream } from './relay-provider-stream.ts';
import { openAttemptWriter, type AttemptProgress, type RunWriter } from './run-writer.ts';

/** After the reply ended, the `ended` heartbeat goes out this soon if saving and closing still run. */
const ENDED_HEARTBEAT_AFTER_MS = 200;

export interface StreamReplyResult {
  finishReason: string;
}

/**
 * Streams the model's reply into the run's stream as run events (shared/run-events.ts).
 *
 * A retry (worker killed or shut down, provider dropped the connection or stalled, 5xx) continues
 * instead of starting over: it reads back what clients were already sent and asks the model to go on
 * after it (with the provider's continuation strategy), so what clients receive, concatenated, is exactly
 * the saved reply. LibreChat's client has no "reset" event, so nothing shown is ever taken back.
 */
export function createStreamReply(deps: ChatActivityDependencies) {
  return (input: ChatRunInput): Promise<StreamReplyResult> => streamReplyWith(deps, input);
}

export interface StreamReplyHooks<R> {
  /** Called once the provider's first chunk has been handed to the stream writer (streamTurn saves the request then). */
  afterFirstChunk?: () => void;
  /**
   * Runs once the reply has streamed whole, still heartbeating (streamTurn saves and closes the run here);
   * its result is the activity's. The heartbeat then says the reply ended, so a retry (this work outlasting
   * the heartbeat timeout, or the worker dying) does not call the model again: it goes straight here.
   */
  afterStream?: (result: StreamReplyResult) => Promise<R>;
}

/** Calls `after` once the consumer has taken the first item (and asks for the next). */
async function* afterFirst<T>(items: AsyncIterable<T>, after: () => void): AsyncIterable<T> {
  let first = true;
  for await (const item of items) {
    yield item;
    if (first) {
      first = false;
      after();
    }
  }
}

export async function streamReplyWith<R = StreamReplyResult>(deps: ChatActivityDependencies, input: ChatRunInput, hooks: StreamReplyHooks<R> = {}): Promise<R> {
  const context = Context.current();
  const previous = context.info.heartbeatDetails as AttemptProgress | undefined;
  let openedWriter: RunWriter | undefined;
  let ended = hooks.afterStream ? previous?.ended : undefined;
  // Until this attempt's writer is open, a heartbeat carries the previous attempt's details on (a rebuild needs them).
  const progress = (): AttemptProgress | undefined => (!openedWriter ? previous : ended === undefined ? openedWriter.progress() : { ...openedWriter.progress(), ended });
  // Heartbeats come from a timer, not per token (a per-token call costs CPU; the SDK would throttle them anyway),
  // started before the provider's SDK is loaded and the writer opened, so neither eats into the heartbeat timeout.
  const heartbeat = startActivityHeartbeat({ details: progress, intervalMs: STREAM_HEARTBEAT_INTERVAL_MS, streamId: input.streamId, stops: deps.runStops });
  let endedHeartbeat: NodeJS.Timeout | undefined;
  const finish = async (result: StreamReplyResult): Promise<R> => {
    ended = result.finishReason;
    // Saving and closing usually take tens of milliseconds: a heartbeat at once would cost every run a
    // Temporal round trip (measured: ~+10 ms of Temporal CPU per run). One goes out if they take longer.
    if (hooks.afterStream) endedHeartbeat = setTimeout(() => context.heartbeat(progress()), ENDED_HEARTBEAT_AFTER_MS);
    return hooks.afterStream ? hooks.afterStream(result) : (result as R);
  };
  try {
    const { endpoint, provider } = await runEndpoint(deps, input);
    const writer = (openedWriter = await openAttemptWriter(deps, input, { lifetimeSeconds: runKeyLifetimeSeconds(deps.streamTtlSeconds) }));
    if (ended !== undefined) {
      context.log.info('the reply had streamed whole before this attempt: finishing it without the model', { streamId: input.streamId });
      return await finish({ finishReason: ended });
    }
    const stepId = messageStepId(input.responseMessageId);
    const alreadyStreamed = foldReply(writer.events.map((item) => item.event)).text;
    if (context.info.attempt > 1) context.log.info('continuing the reply after a failed attempt', { streamId: input.streamId, alreadyStreamedChars: alreadyStreamed.length });
    const step: StepEvent = { type: 'step', stepId, runId: input.responseMessageId, index: 0, kind: 'message' };
    // Nothing can depend on the prompt to announce the step: write it while the prompt is built (time to first token).
    const stepWritten = writer.events.some((item) => item.event.type === 'step') ? Promise.resolve() : writer.append(step);
    stepWritten.catch(() => undefined);

    const messages: PromptMessage[] = await buildPrompt(input, endpoint, deps, heartbeat.signal);
    messages.push(...continuationMessages((input.continuedText ?? '') + alreadyStreamed, provider.continuation));
    await stepWritten;

    // Deltas are spaced further apart as the stream nears its cap (it is never trimmed: a reply keeps its beginning).
    const spacing = () => (writer.lastSeq > deps.streamMaxLength * 0.8 ? Math.max(2000, deps.streamFlushIntervalMs) : deps.streamFlushIntervalMs);
    const deltas = createCoalescingWriter(async (segments) => {
      for (const segment of segments) await writer.append({ type: segment.kind, stepId, text: segment.text });
    }, { minIntervalMs: spacing });

    const chunks = withIdleTimeout(
      (signal) => provider.stream({ endpoint, model: input.model, messages, parameters: input.parameters, maxOutputTokens: outputBudget(input), signal }),
      { idleMs: endpoint.streamIdleTimeoutMs, outer: heartbeat.signal },
    );
    return await finish(await relayProviderStream(hooks.afterFirstChunk ? afterFirst(chunks, hooks.afterFirstChunk) : chunks, { deltas, writer, signal: heartbeat.signal }));
  } catch (error) {
    // Stopped through Redis: what was read is written; the attempt ends cancelled once Temporal says so.
    if (heartbeat.stopped) await heartbeat.afterStop();
    throw error;
  } finally {
    heartbeat.stop();
    clearTimeout(endedHeartbeat);
  }
}

