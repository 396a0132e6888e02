import { ApplicationFailure, Context } from '@temporalio/activity';
import type { Redis } from 'ioredis';
import type { ChatRunInput } from '../../shared/chat-run.ts';
import type { RedisKeys } from '../../shared/redis-keys.ts';
import { messageStepId, type RunEvent, type SequencedEvent } from '../../shared/run-events.ts';
import type { RunRegistry } from '../../shared/run-registry.ts';
import { appendFenced, claimFence, parseEntries, rebuildStream } from '../../shared/run-stream.ts';

/**
 * What an attempt heartbeats: the run's events after `created`, so a successor can rebuild a stream Redis
 * lost. Compact (deltas as `[seq, 't' | 'r', text]`, the step id implied): it is sent every second.
 */
export interface AttemptProgress {
  entries: Array<[number, 't' | 'r', string] | [number, 'e', RunEvent]>;
  /** The reply streamed whole with this finish reason (a chat turn saving and closing): a retry calls no model. */
  ended?: string;
}

export function encodeProgress(events: readonly SequencedEvent[], stepId: string): AttemptProgress {
  return {
    // Only deltas of the reply's first step are compacted (an agent run's later steps have ids of their own).
    entries: events.map(({ seq, event }) =>
      event.type === 'text' && event.stepId === stepId ? [seq, 't', event.text] : event.type === 'reasoning' && event.stepId === stepId ? [seq, 'r', event.text] : [seq, 'e', event],
    ),
  };
}

export function decodeProgress(progress: AttemptProgress | undefined, stepId: string): SequencedEvent[] {
  if (!Array.isArray(progress?.entries)) return [];
  return progress.entries.map(([seq, kind, value]) =>
    kind === 't' ? { seq, event: { type: 'text', stepId, text: value as string } } : kind === 'r' ? { seq, event: { type: 'reasoning', stepId, text: value as string } } : { seq, event: value as RunEvent },
  );
}

/** The stream is gone and this writer has nothing to rebuild it from (a publish of an agent run): retried, and logged. */
export class StreamLostError extends Error {
  override name = 'StreamLostError';
}

/** Redis could not be reached for longer than the writer waits: retried by Temporal like any transient failure. */
export class RedisUnavailableError extends Error {
  override name = 'RedisUnavailableError';
}

export interface RunWriterOptions {
  redis: Redis;
  keys: RedisKeys;
  runs: RunRegistry;
  /** The run: its ids, and `created` (without it a lost stream is not rebuilt: the writer fails, retryably). */
  input: Pick<ChatRunInput, 'streamId' | 'userId' | 'conversationId' | 'responseMessageId' | 'runCreatedAt'> & { created?: ChatRunInput['created'] };
  /** Unique per attempt: the fence value. */
  owner: string;
  workflowId: string;
  /** Seconds the stream and fence may live: the run's longest possible life plus the stream TTL. */
  lifetimeSeconds: number;
  /** How long a Redis outage is ridden out (writes retried, text kept in memory) before the attempt fails. */
  redisOutageToleranceMs: number;
  /** The previous attempt's last heartbeat, if any. */
  previous?: AttemptProgress;
  log: { info: (message: string, meta?: Record<string, unknown>) => void; warn: (message: string, meta?: Record<string, unknown>) => void };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * An attempt's writer to its run's stream. It keeps every event of the run in memory (the ids are the
 * run's own sequence numbers), so when Redis loses the stream (a restart without persistence) it writes
 * the stream again with the same ids and carries on: a client resuming with its Last-Event-ID gets the
 * rest with no gap and no repeat. A Redis error is ridden out for `redisOutageToleranceMs`, never
 * reported as a provider failure.
 */
export async function openRunWriter(options: RunWriterOptions) {
  const { redis, keys, input, owner, log } = options;
  const streamKey = keys.chatStream(input.streamId);
  const fenceKey = keys.streamWriterFence(input.streamId);
  const created: SequencedEvent | undefined = input.created ? { seq: 1, event: input.created } : undefined;
  let events: SequencedEvent[] = created ? [created] : [];

  async function rebuild(reason: string) {
    if (!created) throw new StreamLostError(`The run's stream is gone (${reason}) and this writer cannot rebuild it`);
    log.warn('rebuilding the run stream', { streamId: input.streamId, reason, events: events.length });
    await rebuildStream(redis, streamKey, fenceKey, owner, events, options.lifetimeSeconds);
    await options.runs.register({
      streamId: input.streamId,
      userId: input.userId,
      conversationId: input.conversationId,
      responseMessageId: input.responseMessageId,
      workflowId: options.workflowId,
      status: 'running',
      // The run's own start time: clients hold it as the generation's identity (generationCreatedAt).
      createdAt: input.runCreatedAt ?? new Date().toISOString(),
    });
  }

  /** Runs a Redis operation, retrying through an outage up to the tolerance. */
  async function withRedis<T>(operation: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + options.redisOutageToleranceMs;
    let wait = 200;
    while (true) {
      try {
        return await operation();
      } catch (error) {
        if (error instanceof ApplicationFailure || error instanceof StreamLostError) throw error;
        if (Date.now() >= deadline) throw new RedisUnavailableError(`Redis unavailable for over ${Math.round(options.redisOutageToleranceMs / 1000)} s: ${(error as Error).message}`);
        log.warn('Redis write failed; retrying', { streamId: input.streamId, error: (error as Error).message });
        await sleep(wait);
        wait = Math.min(wait * 2, 2000);
      }
    }
  }

  // Claim the fence; from here on an earlier attempt still running somewhere is fenced out. A closed run
  // is never reopened: its final event is written.
  const claimed = await withRedis(() => claimFence(redis, streamKey, fenceKey, owner, options.lifetimeSeconds));
  if (claimed.closed) throw ApplicationFailure.nonRetryable('The run is already closed', 'RunClosed');
  const existing = claimed.items;
  if (existing.length > 0 && existing[0]!.seq === 1) {
    events = existing;
  } else {
    // The stream is gone (Redis lost it) or was never there: rebuild from the previous attempt's
    // heartbeat, if any, else from `created` alone.
    const previous = decodeProgress(options.previous, messageStepId(input.responseMessageId)).filter((item) => item.seq > 1);
    if (previous.length > 0 && created) events = [created, ...previous];
    await withRedis(() => rebuild(existing.length === 0 ? 'stream missing at attempt start' : 'stream lacks its first event'));
  }

  let cachedProgress: AttemptProgress = { entries: [] };
  let progressFor = -1;
  let progressFromSeq = 2;

  return {
    /** Every event of the run so far, in order (including the ones earlier attempts wrote). */
    get events(): readonly SequencedEvent[] {
      return events;
    },
    get lastSeq(): number {
      return events.at(-1)!.seq;
    },
    /** The heartbeat details; rebuilt only when events were added since the last call. */
    progress(): AttemptProgress {
      if (progressFor !== events.length) {
        cachedProgress = encodeProgress(events.filter((item) => item.seq >= progressFromSeq), messageStepId(input.responseMessageId));
        progressFor = events.length;
      }
      return cachedProgress;
    },
    /**
     * Heartbeat only the events from this one on (an agent's model step: its own events, not the whole
     * run's, which can be large and are sent every second). A successor that finds the stream lost then
     * rebuilds only those: a rare double failure (Redis and the worker at once) loses earlier steps' events.
     */
    heartbeatFrom(seq: number): void {
      progressFromSeq = Math.max(2, seq);
      progressFor = -1;
    },
    /** Appends the next event; fenced (a newer attempt wins), rebuilt if Redis lost the stream. */
    async append(event: RunEvent): Promise<void> {
      const item: SequencedEvent = { seq: events.at(-1)!.seq + 1, event };
      events.push(item);
      await withRedis(async () => {
        const result = await appendFenced(redis, streamKey, fenceKey, owner, item);
        if (result === 'fenced-out') throw ApplicationFailure.nonRetryable('A newer attempt owns this reply stream', 'Superseded');
        if (result === 'lost') await rebuild('fence missing: Redis lost its data');
      });
    },
  };
}


export type RunWriter = Awaited<ReturnType<typeof openRunWriter>>;

/**
 * The run writer of the activity attempt running now (a chat reply, an agent's model step): fenced by the
 * workflow run, the step (when given) and the attempt, and rebuilt from the previous attempt's heartbeat
 * when Redis lost the stream.
 */
export function openAttemptWriter(
  deps: { redis: Redis; keys: RedisKeys; runs: RunRegistry; redisOutageToleranceMs: number },
  input: RunWriterOptions['input'],
  options: { lifetimeSeconds: number; step?: number },
) {
  const context = Context.current();
  const execution = context.info.workflowExecution ?? { workflowId: input.streamId, runId: input.streamId };
  return openRunWriter({
    redis: deps.redis,
    keys: deps.keys,
    runs: deps.runs,
    input,
    owner: [execution.runId, ...(options.step !== undefined ? [options.step] : []), context.info.attempt].join(':'),
    workflowId: execution.workflowId,
    lifetimeSeconds: options.lifetimeSeconds,
    redisOutageToleranceMs: deps.redisOutageToleranceMs,
    previous: context.info.heartbeatDetails as AttemptProgress | undefined,
    log: context.log,
  });
}
