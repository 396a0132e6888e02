/**
 * The durability promise on every SDK path: a worker SIGKILLed mid-reply and started again gives one reply
 * whose saved text is exactly what the SSE client received, whichever SDK streams it. Each provider
 * continues its own way (provider.ts, ContinuationStrategy), and the demo server refuses to cover for a
 * wrong one: a chat-completions or Gemini request ending in a bare assistant message gets the whole reply
 * again, so a provider that relied on prefill there would show a repeated seam here.
 *
 * The worker runs as the real entry point (workers/worker.ts) in a child process. A case's time is mostly
 * the 5 s heartbeat timeout (workflows/chat.ts) after which Temporal retries the streaming activity, and
 * the replacement's start-up, which overlaps it. The replacement started by one case is the worker the
 * next case kills, so no case waits for a worker to start before its reply can begin.
 */
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, test } from 'vitest';
import { CONTINUE_INSTRUCTION } from '../activities/providers/provider.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../shared/models/index.ts';
import { planReply, type ChatMessage } from '../workers/demo-provider/reply-script.ts';
import { spawnEntryPoint, startChatStack, type ChatStack } from './helpers/chat-stack.ts';
import { countDeltas, killHard, outputLine, stopGently } from './helpers/child-stack.ts';
import { createHttpClient, registerAndLogin } from './helpers/http-client.ts';
import { deltaText, finalEvent, requestSse } from './helpers/sse-client.ts';
import { maxActivityAttempt, workflowResult } from './helpers/temporal-history.ts';
import { cleanUpTestData } from './helpers/test-app.ts';

// 60 words at 20/s: 3 s of streaming, so 15 deltas in the reply is well inside it when the worker dies.
const TOKENS = 60;
const KILL_AFTER_DELTAS = 15;
const MODEL = 'demo-fast';

let stack: ChatStack;
let token: string;
/** The live worker process: each case kills it and leaves its replacement here. */
let worker: ChildProcess | undefined;

const spawnWorker = () => spawnEntryPoint('workers/worker.ts', stack.environment);

beforeAll(async () => {
  stack = await startChatStack({ worker: false });
  token = (await registerAndLogin(createHttpClient(stack.app.baseUrl), 'provider-kill')).token;
  worker = spawnWorker();
  // workers/worker.ts prints this once it polls every queue. Generous: start-up is slow on a busy machine.
  await outputLine(worker, /worker serving/, 60_000);
});
afterAll(async () => {
  if (worker) await stopGently(worker);
  await stack.close();
  await cleanUpTestData(stack.app.config);
});

// The demo endpoints of librechat.yaml, each reaching the test's fake provider through its own SDK.
const paths = [
  { endpoint: 'demo', sdk: 'the OpenAI SDK', continuation: 'instruction' },
  { endpoint: 'demo-claude', sdk: 'the Anthropic SDK', continuation: 'prefill' },
  { endpoint: 'demo-gemini', sdk: '@google/genai', continuation: 'instruction' },
  { endpoint: 'demo-bedrock', sdk: 'Bedrock ConverseStream', continuation: 'prefill' },
] as const;

/** A wait with a deadline: a run that never ends fails the case with a reason instead of at the test timeout. */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

/** The cut-off reply a continuation request carries, checked against the way its provider continues. */
function partialReplyIn(request: ChatMessage[], continuation: 'instruction' | 'prefill'): string {
  if (continuation === 'prefill') {
    assert.equal(request.at(-1)?.role, 'assistant', 'prefill: the partial reply is the last message');
    return request.at(-1)!.content;
  }
  assert.equal(request.at(-1)?.role, 'user', 'instruction: a user message follows the partial reply');
  assert.equal(request.at(-1)?.content, CONTINUE_INSTRUCTION);
  assert.equal(request.at(-2)?.role, 'assistant');
  return request.at(-2)!.content;
}

test.each(paths)('$endpoint: a worker SIGKILLed mid-reply through $sdk and started again gives one seamless saved reply', async ({ endpoint, continuation }) => {
  worker ??= spawnWorker();
  const victim = worker;
  let killing: Promise<void> | undefined;
  let requestsAtKill = 0;
  let receivedAtKill = '';
  let continuationRequest: ChatMessage[] | undefined;
  try {
    const result = await requestSse(`${stack.app.baseUrl}/api/agents/chat/custom`, {
      method: 'POST',
      token,
      body: { endpoint, model: MODEL, text: `survive a dead worker on ${endpoint} [tokens=${TOKENS} rate=20]`, conversationId: null, parentMessageId: ROOT_PARENT_MESSAGE_ID },
      // Bounds the whole reply: about 10 s on an idle machine, several times that when cores are contended.
      timeoutMs: 75_000,
      disconnectWhen: (event, events) => {
        if (event.data?.event !== 'on_message_delta') return false;
        if (!killing && countDeltas(events) === KILL_AFTER_DELTAS) {
          requestsAtKill = stack.provider.requestCount();
          receivedAtKill = deltaText(events);
          // The client keeps listening while the worker dies and a new one starts (as under a supervisor).
          killing = killHard(victim).then(() => {
            worker = spawnWorker();
          });
        } else if (killing && !continuationRequest && stack.provider.requestCount() > requestsAtKill) {
          // A delta of the retry: its request is the fake's latest (the title request comes after the reply).
          continuationRequest = stack.provider.lastMessages();
        }
        return false;
      },
    });
    await killing;
    assert.ok(killing, 'the worker was killed mid-reply');
    assert.equal(result.completed, true, 'the stream ended by itself');
    const final = finalEvent(result.events)?.data;
    assert.ok(final, `a final event (got ${result.events.at(-1)?.event}: ${JSON.stringify(result.events.at(-1)?.data)})`);
    const received = deltaText(result.events);

    // What the client received, concatenated, is what was saved, and the run completed.
    assert.equal(final.responseMessage.text, received, 'the final event carries what the client received');
    assert.equal(final.responseMessage.unfinished, false);
    const messageId = final.responseMessage.messageId;
    const saved = (await createHttpClient(stack.app.baseUrl).get(`/api/messages/${final.conversation.conversationId}`, { token })).body;
    assert.equal(saved.find((message: { messageId: string }) => message.messageId === messageId)?.text, received, 'the saved reply is what the client received');
    // The workflow still generates the title after the final event; it ends within seconds.
    const outcome = (await within(workflowResult(`chat-${messageId}`), 15_000, 'the workflow result')) as { status: string };
    assert.equal(outcome.status, 'completed');
    assert.ok((await maxActivityAttempt(`chat-${messageId}`)) >= 2, 'Temporal retried the streaming activity');

    // The provider was asked again, to continue after exactly the text already streamed.
    assert.ok(continuationRequest, 'the provider was called again after the kill');
    const partial = partialReplyIn(continuationRequest, continuation);
    assert.ok(partial.length >= receivedAtKill.trimEnd().length && received.startsWith(partial), `the continuation carried the streamed text (${JSON.stringify(partial)})`);

    // No gap and no repeated seam: the reply is the one the model would have written uninterrupted.
    assert.equal(received, planReply(MODEL, continuationRequest).tokens.join(''));
    assert.equal(received.split(' ').length, TOKENS);
  } finally {
    // Whatever happened, the next case (or afterAll) finds `worker` set to a live process or its replacement.
    await killing?.catch(() => undefined);
  }
});
