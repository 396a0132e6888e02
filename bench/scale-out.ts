/**
 * Scale-out benchmark (bench/README.md, "Scale-out: two APIs, two workers, one of each killed"). Starts the
 * bench stack with 2 API processes and 2 worker processes on one task queue (same Temporal, Redis and
 * database), spreads N concurrent chats across the two APIs (half of them start on one API and, after their
 * first delta, resume the stream on the other with Last-Event-ID), and once every chat is streaming SIGKILLs
 * one API and one worker. Nothing is restarted: clients of the killed API reconnect to the surviving one
 * with Last-Event-ID, and Temporal retries the killed worker's activities on the surviving worker once their
 * heartbeat timeout (5 s, workflows/chat.ts) lapses. At the end every chat's saved reply
 * (GET /api/messages/:conversationId) is compared with what its client assembled.
 * Usage: node --import tsx bench/scale-out.ts [--streams 50] [--tokens 300] [--rate 30] [--kill-delay-ms 1000]
 *        (or npm run bench -- --scale-out [...])
 */
import { randomUUID } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { createRedisClient } from '../shared/redis-client.ts';
import { createRedisKeys } from '../shared/redis-keys.ts';
import { createTemporalClient } from '../shared/temporal-client.ts';
import { listLiveWorkers } from '../shared/worker-heartbeat.ts';
import { replyTokens } from '../workers/demo-provider/reply-script.ts';
import { readSse } from '../test/helpers/sse-client.ts';
import { argument, startBenchStack, type BenchStack } from './bench-stack.ts';
import { cpuSeconds, peakRssMiB, percentile } from './process-stats.ts';

const streams = Number(argument('streams', '50'));
const tokens = Number(argument('tokens', '300'));
const rate = Number(argument('rate', '30'));
/** After every chat has its first delta: how long to wait before the kill. */
const killDelayMs = Number(argument('kill-delay-ms', '1000'));
/** Kill anyway this long after the first start, even if some chat has no delta yet. */
const killDeadlineMs = Number(argument('kill-deadline-ms', '20000'));
/** A chat not finished this long after its start counts as not completed. */
const chatTimeoutMs = Number(argument('chat-timeout-ms', '180000'));

interface Chat {
  index: number;
  prompt: string;
  startApi: number;
  /** Where it follows after its first delta: the other API for half of the chats. */
  followApi: number;
  /** The API it is connected to now, or undefined between connections. */
  connectedTo?: number;
  streamId?: string;
  conversationId?: string;
  responseMessageId?: string;
  lastEventId?: string;
  lastSeq: number;
  text: string;
  ttftMs: number;
  firstDeltaAt?: number;
  lastDeltaAt?: number;
  /** Longest pause between two deltas (the handover of a killed worker's run shows here). */
  longestPauseMs: number;
  completed: boolean;
  /** Milliseconds from the POST to the final event. */
  completedMs?: number;
  errorEvent?: string;
  finalText?: string;
  /** Connections that dropped or failed and were made again (the planned switch is not counted). */
  reconnects: number;
  /** Events whose id was not after the last one received. */
  repeats: number;
  failure?: string;
}

async function runChat(stack: BenchStack, token: string, chat: Chat, onFirstDelta: () => void): Promise<void> {
  const started = performance.now();
  const messageId = randomUUID();
  let target = chat.startApi;
  let switchPending = chat.followApi !== chat.startApi;
  let lastError: string | undefined;
  while (!chat.completed && !chat.errorEvent && performance.now() - started < chatTimeoutMs) {
    const api = stack.apis[target]!;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), Math.max(1, chatTimeoutMs - (performance.now() - started)));
    let planned = false;
    try {
      const headers: Record<string, string> = { authorization: `Bearer ${token}`, accept: 'text/event-stream' };
      let response: Response;
      if (!chat.streamId) {
        // No event yet: (re)send the POST; its messageId makes a repeat attach to the same run.
        response = await fetch(`${api.baseUrl}/api/agents/chat/custom`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint: 'demo', model: 'demo-fast', text: chat.prompt, conversationId: null, messageId }),
          signal: controller.signal,
        });
      } else {
        if (chat.lastEventId) headers['last-event-id'] = chat.lastEventId;
        response = await fetch(`${api.baseUrl}/api/agents/chat/stream/${chat.streamId}`, { headers, signal: controller.signal });
      }
      if (!response.ok || !response.headers.get('content-type')?.includes('text/event-stream')) throw new Error(`HTTP ${response.status} ${(await response.text()).slice(0, 200)}`);
      chat.connectedTo = target;
      await readSse(response, (event) => {
        const seq = event.id && /^0-\d+$/.test(event.id) ? Number(event.id.slice(2)) : undefined;
        if (seq !== undefined) {
          if (seq <= chat.lastSeq) chat.repeats += 1;
          chat.lastSeq = Math.max(chat.lastSeq, seq);
          chat.lastEventId = `0-${chat.lastSeq}`;
        }
        const data = event.data;
        if (data?.created) {
          chat.streamId ??= data.streamId;
          chat.conversationId ??= data.conversationId;
          chat.responseMessageId ??= data.responseMessageId;
        }
        if (data?.event === 'on_message_delta') {
          const now = performance.now();
          if (chat.firstDeltaAt === undefined) {
            chat.firstDeltaAt = now;
            chat.ttftMs = now - started;
            onFirstDelta();
          } else chat.longestPauseMs = Math.max(chat.longestPauseMs, now - chat.lastDeltaAt!);
          chat.lastDeltaAt = now;
          for (const part of data.data.delta.content) chat.text += part.text ?? '';
        }
        if (event.event === 'error') chat.errorEvent = typeof data?.text === 'string' ? data.text : JSON.stringify(data);
        else if (data?.final) {
          chat.completed = true;
          chat.completedMs = performance.now() - started;
          chat.finalText = data.responseMessage?.text;
          chat.conversationId ??= data.conversation?.conversationId;
          chat.responseMessageId ??= data.responseMessage?.messageId;
        }
        if (chat.completed || chat.errorEvent) return true;
        if (switchPending && chat.firstDeltaAt !== undefined && chat.streamId) {
          // The planned move: leave this API and resume the stream on the other one.
          switchPending = false;
          planned = true;
          return true;
        }
        return false;
      });
    } catch (error) {
      lastError = (error as Error).message;
    } finally {
      clearTimeout(timer);
      controller.abort();
      chat.connectedTo = undefined;
    }
    if (chat.completed || chat.errorEvent) break;
    if (planned) {
      target = chat.followApi;
      continue;
    }
    // Dropped (or could not connect): fail over to the other API after a short pause, as a client would.
    chat.reconnects += 1;
    target = 1 - target;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  if (!chat.completed && !chat.errorEvent) chat.failure ??= `timed out${lastError ? ` (last error: ${lastError})` : ''}`;
}

/** The highest attempt of each run's streamReply activity, from its workflow history (chat-<responseMessageId>). */
async function streamReplyAttempts(stack: BenchStack, chats: Chat[]): Promise<number[]> {
  const { client, connection } = createTemporalClient(stack.environment.TEMPORAL_ADDRESS!, 'default');
  try {
    return await Promise.all(
      chats.map(async (chat) => {
        if (!chat.responseMessageId) return 0;
        const history = await client.workflow.getHandle(`chat-${chat.responseMessageId}`).fetchHistory();
        const streamReplyScheduled = new Set<string>();
        let attempt = 0;
        for (const event of history.events ?? []) {
          if (['streamTurn', 'streamReply'].includes(event.activityTaskScheduledEventAttributes?.activityType?.name ?? '')) streamReplyScheduled.add(String(event.eventId));
          const started = event.activityTaskStartedEventAttributes;
          if (started && streamReplyScheduled.has(String(started.scheduledEventId))) attempt = Math.max(attempt, started.attempt ?? 0);
        }
        return attempt;
      }),
    );
  } finally {
    await connection.close();
  }
}

/** Until both worker processes have bundled their workflows and polled (their readiness heartbeat is in Redis). */
async function waitForWorkers(stack: BenchStack, timeoutMs = 120_000) {
  const redis = createRedisClient(stack.environment.REDIS_URI ?? 'redis://127.0.0.1:6379', 'bench');
  const keys = createRedisKeys(stack.environment.REDIS_KEY_PREFIX!);
  const pids = new Set(stack.workers.map((worker) => worker.pid));
  try {
    const deadline = Date.now() + timeoutMs;
    while ((await listLiveWorkers(redis, keys)).filter((worker) => pids.has(worker.pid)).length < pids.size) {
      if (Date.now() > deadline) throw new Error(`the workers did not report ready within ${timeoutMs / 1000} s`);
      if (stack.workers.some((worker) => worker.exitCode !== null)) throw new Error('a worker exited during start-up');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  } finally {
    redis.disconnect();
  }
}

function processRow(name: string, pid: number, state: string, cpu: number, rss: number) {
  return `${name.padEnd(8)} | ${String(pid).padStart(7)} | ${state.padEnd(16)} | ${cpu.toFixed(2).padStart(5)} | ${rss.toFixed(0).padStart(12)}`;
}

const stack = await startBenchStack({ apis: 2, workers: 2 });
try {
  await waitForWorkers(stack);
  const token = await stack.login();
  const [apiA, apiB] = stack.apis as [BenchStack['apis'][number], BenchStack['apis'][number]];
  const [workerA, workerB] = stack.workers as [ChildProcess, ChildProcess];
  // Warm up both APIs (and, through the shared queue, the workers).
  await Promise.all(
    Array.from({ length: 8 }, async (_unused, index) => {
      const chat: Chat = { index, prompt: `warm up ${index} [tokens=20]`, startApi: index % 2, followApi: index % 2, lastSeq: 0, text: '', ttftMs: NaN, longestPauseMs: 0, completed: false, reconnects: 0, repeats: 0 };
      await runChat(stack, token, chat, () => {});
    }),
  );

  const processes = [
    { name: 'api-1', child: apiA.process },
    { name: 'api-2', child: apiB.process },
    { name: 'worker-1', child: workerA },
    { name: 'worker-2', child: workerB },
    { name: 'provider', child: stack.provider },
  ].map((entry) => ({ ...entry, pid: entry.child.pid!, cpuBefore: cpuSeconds(entry.child.pid!), cpuAtKill: undefined as number | undefined, rssAtKill: undefined as number | undefined }));

  console.log(`\nscale-out: 2 APIs, 2 workers on task queue ${stack.environment.TEMPORAL_TASK_QUEUE}; ${streams} chats of ${tokens} tokens at ${rate} tokens/s (${(tokens / rate).toFixed(0)} s each), started within 1 s`);
  console.log(`clients alternate between the APIs for their POST; half of them resume the stream on the other API after their first delta (Last-Event-ID)`);

  const chats: Chat[] = Array.from({ length: streams }, (_unused, index) => {
    const startApi = index % 2;
    const followApi = Math.floor(index / 2) % 2 === 0 ? startApi : 1 - startApi;
    return { index, prompt: `scale-out ${index}-${stack.runId} [tokens=${tokens} rate=${rate}]`, startApi, followApi, lastSeq: 0, text: '', ttftMs: NaN, longestPauseMs: 0, completed: false, reconnects: 0, repeats: 0 };
  });

  const started = performance.now();
  let withFirstDelta = 0;
  let allStreaming!: () => void;
  const everyChatStreaming = new Promise<void>((resolve) => (allStreaming = resolve));
  const onFirstDelta = () => {
    withFirstDelta += 1;
    if (withFirstDelta === streams) allStreaming();
  };
  let killedAt = NaN;
  let killNote = '';
  const kill = (async () => {
    await Promise.race([everyChatStreaming, new Promise((resolve) => setTimeout(resolve, killDeadlineMs))]);
    await new Promise((resolve) => setTimeout(resolve, killDelayMs));
    const streaming = chats.filter((chat) => chat.firstDeltaAt !== undefined && !chat.completed && !chat.errorEvent).length;
    const onKilledApi = chats.filter((chat) => chat.connectedTo === 0).length;
    for (const entry of processes.filter(({ name }) => name === 'api-1' || name === 'worker-1')) {
      entry.cpuAtKill = cpuSeconds(entry.pid);
      entry.rssAtKill = peakRssMiB(entry.pid);
    }
    const exited = [apiA.process, workerA].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    apiA.process.kill('SIGKILL');
    workerA.kill('SIGKILL');
    killedAt = (performance.now() - started) / 1000;
    await Promise.all(exited);
    killNote = `SIGKILL api-1 (pid ${apiA.process.pid}) and worker-1 (pid ${workerA.pid}) at ${killedAt.toFixed(1)} s, with ${streaming} of ${streams} chats streaming (${onKilledApi} connected to api-1); nothing restarted`;
    console.log(killNote);
  })();

  await Promise.all(
    chats.map(async (chat) => {
      // Spread the starts over one second, as real users do not press Enter in the same millisecond.
      await new Promise((resolve) => setTimeout(resolve, (chat.index / streams) * 1000));
      await runChat(stack, token, chat, onFirstDelta).catch((error) => (chat.failure = (error as Error).message));
    }),
  );
  const wallSeconds = (performance.now() - started) / 1000;
  await kill;

  // Every chat: the saved reply (read through the surviving API) against what the client assembled.
  const mismatches: string[] = [];
  let exact = 0;
  let asScripted = 0;
  for (const chat of chats) {
    if (!chat.completed) {
      mismatches.push(`chat ${chat.index}: not completed (${chat.errorEvent ? `error event: ${chat.errorEvent}` : chat.failure}); ${chat.text.length} characters received`);
      continue;
    }
    const response = await fetch(`${apiB.baseUrl}/api/messages/${chat.conversationId}`, { headers: { authorization: `Bearer ${token}` } });
    const messages = (await response.json()) as Array<{ messageId: string; text: string; isCreatedByUser?: boolean; unfinished?: boolean }>;
    const saved = Array.isArray(messages) ? messages.find((message) => message.messageId === chat.responseMessageId) : undefined;
    if (saved && saved.text === chat.text && chat.repeats === 0) exact += 1;
    else mismatches.push(`chat ${chat.index}: ${saved ? `saved ${saved.text.length} characters, assembled ${chat.text.length}, first difference at ${[...saved.text].findIndex((character, position) => chat.text[position] !== character)}` : `no saved reply (HTTP ${response.status})`}; ${chat.repeats} repeated events`);
    if (chat.text === replyTokens(chat.prompt, tokens).join('')) asScripted += 1;
  }
  const attempts = await streamReplyAttempts(stack, chats).catch((error) => {
    console.log(`(could not read the workflow histories: ${(error as Error).message})`);
    return [] as number[];
  });
  const retried = attempts.filter((attempt) => attempt >= 2).length;
  const completed = chats.filter((chat) => chat.completed).length;
  const repeats = chats.reduce((sum, chat) => sum + chat.repeats, 0);
  const reconnects = chats.reduce((sum, chat) => sum + chat.reconnects, 0);
  const reconnected = chats.filter((chat) => chat.reconnects > 0).length;
  const ttfts = chats.map((chat) => chat.ttftMs).filter((value) => !Number.isNaN(value));
  const pauses = chats.filter((chat) => chat.completed).map((chat) => chat.longestPauseMs);

  console.log(`\nchats | completed | exact (saved = assembled) | = provider script | repeated events | wall s | TTFT p50/p99 ms | reconnects (chats) | streamReply retried | longest pause p50/max s`);
  console.log(
    `${String(streams).padStart(5)} | ${String(completed).padStart(9)} | ${String(exact).padStart(25)} | ${String(asScripted).padStart(17)} | ${String(repeats).padStart(15)} | ${wallSeconds.toFixed(1).padStart(6)} | ${`${percentile(ttfts, 0.5).toFixed(0)} / ${percentile(ttfts, 0.99).toFixed(0)}`.padStart(15)} | ${`${reconnects} (${reconnected})`.padStart(18)} | ${String(retried).padStart(19)} | ${(percentile(pauses, 0.5) / 1000).toFixed(1)} / ${(Math.max(0, ...pauses) / 1000).toFixed(1)}`,
  );
  console.log(`\nprocess  |     pid | state            | CPU s | peak RSS MiB`);
  for (const entry of processes) {
    const killed = entry.cpuAtKill !== undefined;
    const cpu = (killed ? entry.cpuAtKill! : cpuSeconds(entry.pid)) - entry.cpuBefore;
    const rss = killed ? entry.rssAtKill! : peakRssMiB(entry.pid);
    console.log(processRow(entry.name, entry.pid, killed ? `killed at ${killedAt.toFixed(1)} s` : 'survived', cpu, rss));
  }
  // Every chat's figures, for looking a run up in Temporal afterwards.
  const details = path.join(stack.environment.DATA_DIR!, `scale-out-${stack.runId}.json`);
  writeFileSync(details, JSON.stringify(chats.map(({ text: _text, finalText: _final, ...chat }, index) => ({ ...chat, streamReplyAttempt: attempts[index] })), null, 1));
  console.log(`\nper-chat details: ${path.relative(process.cwd(), details)}`);
  const slow = chats.filter((chat) => !(chat.ttftMs < 5000));
  if (slow.length > 0) console.error(`first delta after 5 s or never: ${slow.map((chat) => `chat ${chat.index} (${chat.ttftMs.toFixed(0)} ms, workflow chat-${chat.responseMessageId})`).join(', ')}`);
  if (mismatches.length > 0) {
    console.log(`\n${mismatches.length} chat(s) not exact:`);
    for (const line of mismatches.slice(0, 20)) console.log(`  ${line}`);
    process.exitCode = 1;
  }
} finally {
  await stack.shutdown();
}
