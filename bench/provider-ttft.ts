/**
 * Time to first token per provider path (see bench/README.md, "Time to first token per provider"). Starts the
 * same stack as chat-bench.ts (Temporal and FerretDB on the test ports if needed, then the fake provider, the
 * API and one worker as separate processes) and, for each keyless demo endpoint of the default librechat.yaml
 * (`demo`, `demo-claude`, `demo-bedrock`, `demo-gemini`, all answered by the one fake server), measures
 * sequentially, N rounds each, a 50-token reply:
 *   (a) direct: the provider's own SDK, built as activities/providers/*.ts builds it, against the fake server,
 *       from the request to the first text delta;
 *   (b) through durachat: POST /api/agents/chat/custom, from the request to the first `on_message_delta`.
 * Usage: node --import tsx bench/provider-ttft.ts [--rounds 20]
 */
import Anthropic from '@anthropic-ai/sdk';
import { BedrockRuntimeClient, ConverseStreamCommand } from '@aws-sdk/client-bedrock-runtime';
import { GoogleGenAI } from '@google/genai';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import OpenAI from 'openai';
import { argument, startBenchStack } from './bench-stack.ts';
import { durachatChat } from './chat-bench.ts';
import { percentile } from './process-stats.ts';

const rounds = Number(argument('rounds', '20'));
const MODEL = 'demo-fast';
/** What the worker asks for when the request sets no limit; only an upper bound here, the reply is 50 tokens. */
const MAX_TOKENS = 4096;
/** demo-claude's `thinkingBudget` in librechat.yaml: the direct call sends the same thinking request. */
const CLAUDE_THINKING_BUDGET = 1024;

/** Milliseconds from calling `start` to the first non-empty text the iterable yields; the rest is drained. */
async function timeToFirstText<T>(start: () => Promise<AsyncIterable<T>>, textOf: (chunk: T) => string | undefined): Promise<number> {
  const started = performance.now();
  let ttftMs = NaN;
  for await (const chunk of await start()) {
    if (Number.isNaN(ttftMs) && textOf(chunk)) ttftMs = performance.now() - started;
  }
  if (Number.isNaN(ttftMs)) throw new Error('the reply had no text');
  return ttftMs;
}

interface ProviderPath {
  endpoint: string;
  sdk: string;
  direct: (text: string) => Promise<number>;
}

/** Each client built with the options its activities/providers module uses for the demo endpoint. */
function providerPaths(providerOrigin: string): ProviderPath[] {
  const openai = new OpenAI({ apiKey: 'demo', baseURL: `${providerOrigin}/v1`, maxRetries: 0, timeout: 120_000 });
  const anthropic = new Anthropic({ apiKey: 'demo', baseURL: providerOrigin, maxRetries: 0, timeout: 120_000 });
  const bedrock = new BedrockRuntimeClient({
    region: 'us-east-1',
    credentials: { accessKeyId: 'demo', secretAccessKey: 'demo' },
    endpoint: providerOrigin,
    maxAttempts: 1,
    requestHandler: new NodeHttpHandler({ connectionTimeout: 10_000, requestTimeout: 120_000, httpAgent: { keepAlive: true, maxSockets: 1000 }, httpsAgent: { keepAlive: true, maxSockets: 1000 } }),
  });
  const google = new GoogleGenAI({ apiKey: 'demo', httpOptions: { baseUrl: providerOrigin, retryOptions: { attempts: 1 }, timeout: 120_000 } });
  return [
    {
      endpoint: 'demo',
      sdk: 'openai',
      direct: (text) =>
        timeToFirstText(
          () => openai.chat.completions.create({ model: MODEL, messages: [{ role: 'user', content: text }], max_tokens: MAX_TOKENS, stream: true }),
          (chunk) => chunk.choices[0]?.delta?.content ?? undefined,
        ),
    },
    {
      endpoint: 'demo-claude',
      sdk: '@anthropic-ai/sdk',
      direct: (text) =>
        timeToFirstText(
          () =>
            anthropic.messages.create({
              model: MODEL,
              max_tokens: MAX_TOKENS + CLAUDE_THINKING_BUDGET,
              messages: [{ role: 'user', content: text }],
              stream: true,
              thinking: { type: 'enabled', budget_tokens: CLAUDE_THINKING_BUDGET },
            }),
          (event) => (event.type === 'content_block_delta' && event.delta.type === 'text_delta' ? event.delta.text : undefined),
        ),
    },
    {
      endpoint: 'demo-bedrock',
      sdk: '@aws-sdk/client-bedrock-runtime',
      direct: (text) =>
        timeToFirstText(
          async () => {
            const response = await bedrock.send(new ConverseStreamCommand({ modelId: MODEL, messages: [{ role: 'user', content: [{ text }] }], inferenceConfig: { maxTokens: MAX_TOKENS } }));
            if (!response.stream) throw new Error('Bedrock answered without an event stream');
            return response.stream;
          },
          (event) => event.contentBlockDelta?.delta?.text,
        ),
    },
    {
      endpoint: 'demo-gemini',
      sdk: '@google/genai',
      direct: (text) =>
        timeToFirstText(
          () => google.models.generateContentStream({ model: MODEL, contents: [{ role: 'user', parts: [{ text }] }], config: { maxOutputTokens: MAX_TOKENS } }),
          (response) =>
            (response.candidates?.[0]?.content?.parts ?? [])
              .filter((part) => !part.thought)
              .map((part) => part.text ?? '')
              .join('') || undefined,
        ),
    },
  ];
}

/** One chat through durachat on `endpoint` (chat-bench's client): milliseconds from the POST to the first `on_message_delta`. */
async function durachatTtft(baseUrl: string, token: string, endpoint: string, text: string): Promise<number> {
  const sample = await durachatChat(baseUrl, token, text, { endpoint, model: MODEL });
  if (sample.status !== 200) throw new Error(`${endpoint}: HTTP ${sample.status}`);
  if (Number.isNaN(sample.ttftMs) || !sample.completed) throw new Error(`${endpoint}: the reply did not stream to completion`);
  return sample.ttftMs;
}

const format = (value: number) => value.toFixed(1);

const stack = await startBenchStack();
try {
  const { baseUrl } = stack.apis[0]!;
  const token = await stack.login();

  const paths = providerPaths(stack.providerOrigin);
  // Warm up every path (worker bundle, SDK clients, connections, JIT).
  for (const { endpoint, direct } of paths) {
    for (let index = 0; index < 3; index += 1) {
      await direct(`warm up ${index} [tokens=20]`);
      await durachatTtft(baseUrl, token, endpoint, `warm up ${index} [tokens=20]`);
    }
  }

  const rows: string[] = [];
  for (const { endpoint, sdk, direct } of paths) {
    const directSamples: number[] = [];
    const durachatSamples: number[] = [];
    for (let round = 0; round < rounds; round += 1) {
      directSamples.push(await direct(`ttft ${endpoint} ${round} [tokens=50]`));
      durachatSamples.push(await durachatTtft(baseUrl, token, endpoint, `ttft ${endpoint} ${round} [tokens=50]`));
    }
    const [d50, d99, c50, c99] = [percentile(directSamples, 0.5), percentile(directSamples, 0.99), percentile(durachatSamples, 0.5), percentile(durachatSamples, 0.99)];
    rows.push(`| ${endpoint} | \`${sdk}\` | ${format(d50)} / ${format(d99)} | ${format(c50)} / ${format(c99)} | **${format(c50 - d50)} / ${format(c99 - d99)}** |`);
  }
  console.log(`\nTime to first token, ms (${rounds} sequential rounds per endpoint, 50-token replies, instant rate)\n`);
  console.log('| endpoint | SDK | direct p50 / p99 | durachat p50 / p99 | added p50 / p99 |');
  console.log('| --- | --- | ---: | ---: | ---: |');
  for (const row of rows) console.log(row);
} finally {
  await stack.shutdown();
}
