/**
 * durachat benchmark (see bench/README.md). Starts Temporal and FerretDB (the test ports) if needed, and the
 * fake provider, the API and one worker as separate processes, then measures:
 *   (a) time to first token through durachat vs. the same provider called directly with the openai SDK,
 *       at 1 and 50 concurrent chats;
 *   (b) concurrent streaming chats (300 tokens at 50 tokens/s each) at increasing counts, checking every
 *       stream for lost or reordered tokens, with CPU seconds per 1,000 relayed tokens and peak RSS.
 * Usage: npm run bench [-- --streams 100,250,500]
 */
import OpenAI from 'openai';
import { replyTokens } from '../workers/demo-provider/reply-script.ts';
import { argument, isMain, startBenchStack } from './bench-stack.ts';
import { readSse } from '../test/helpers/sse-client.ts';
import { cpuSeconds, peakRssMiB, percentile } from './process-stats.ts';
import { formatPerThousand, stackCpuSnapshot, stackCpuUsed } from './stack-cpu.ts';
import { seedHistory } from './seed-history.ts';

export interface Sample {
  ttftMs: number;
  text: string;
  completed: boolean;
  /** durachat's answer to the POST (200 when the reply streamed); direct calls have none. */
  status?: number;
}

/** One chat through durachat: time from sending the POST to the first text delta, and the whole text. */
export async function durachatChat(baseUrl: string, token: string, text: string, target: { endpoint: string; model: string } = { endpoint: 'demo', model: 'demo-fast' }): Promise<Sample> {
  const started = performance.now();
  const response = await fetch(`${baseUrl}/api/agents/chat/custom`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ endpoint: target.endpoint, model: target.model, text, conversationId: null }),
  });
  let ttftMs = NaN;
  let reply = '';
  let completed = false;
  await readSse(response, ({ data: payload }) => {
    if (payload.event === 'on_message_delta') {
      if (Number.isNaN(ttftMs)) ttftMs = performance.now() - started;
      for (const part of payload.data.delta.content) reply += part.text ?? '';
    }
    if (payload.final) completed = true;
    return false;
  });
  return { ttftMs, text: reply, completed, status: response.status };
}

export async function directChat(client: OpenAI, text: string): Promise<Sample> {
  const started = performance.now();
  const stream = await client.chat.completions.create({ model: 'demo-fast', messages: [{ role: 'user', content: text }], stream: true });
  let ttftMs = NaN;
  let reply = '';
  for await (const chunk of stream) {
    const content = chunk.choices[0]?.delta?.content;
    if (content) {
      if (Number.isNaN(ttftMs)) ttftMs = performance.now() - started;
      reply += content;
    }
  }
  return { ttftMs, text: reply, completed: true };
}

export async function inParallel<T>(count: number, task: (index: number) => Promise<T>): Promise<T[]> {
  return Promise.all(Array.from({ length: count }, (_unused, index) => task(index)));
}

const format = (value: number) => value.toFixed(1).padStart(7);

async function measureTimeToFirstToken(baseUrl: string, token: string, direct: OpenAI, ttftRounds: number, children: Record<string, number[]>) {
  console.log(`\n(a) time to first token, ms (${ttftRounds} rounds per concurrency level, 100-token replies)`);
  console.log('concurrency |  direct p50   p99 | durachat p50   p99 | added p50   p99');
  for (const concurrency of [1, 50]) {
    const directSamples: number[] = [];
    const durachatSamples: number[] = [];
    const runCpu: Array<ReturnType<typeof stackCpuUsed>> = [];
    // --pause-ms: a pause before each round, so a round does not overlap the previous run's tail (its title).
    const pauseMs = Number(argument('pause-ms', '0'));
    for (let round = 0; round < Math.max(ttftRounds, concurrency === 1 ? 30 : ttftRounds); round += 1) {
      directSamples.push(...(await inParallel(concurrency, (index) => directChat(direct, `ttft ${round}-${index} [tokens=100]`))).map((sample) => sample.ttftMs));
      if (pauseMs > 0) await new Promise((resolve) => setTimeout(resolve, pauseMs));
      const before = stackCpuSnapshot(children);
      durachatSamples.push(...(await inParallel(concurrency, (index) => durachatChat(baseUrl, token, `ttft ${round}-${index} [tokens=100]`))).map((sample) => sample.ttftMs));
      // Title generation runs after the final event: its CPU lands in the next round's window (and the provider's share includes it).
      runCpu.push(stackCpuUsed(before, stackCpuSnapshot(children)));
    }
    const added = (fraction: number) => percentile(durachatSamples, fraction) - percentile(directSamples, fraction);
    console.log(
      `${String(concurrency).padStart(11)} | ${format(percentile(directSamples, 0.5))} ${format(percentile(directSamples, 0.99))} | ${format(percentile(durachatSamples, 0.5))} ${format(percentile(durachatSamples, 0.99))} | ${format(added(0.5))} ${format(added(0.99))}`,
    );
    const runs = durachatSamples.length;
    const roles = Object.keys(runCpu[0]?.byRole ?? {});
    const perRun = roles.map((role) => `${role} ${((runCpu.reduce((sum, used) => sum + (used.byRole[role] ?? 0), 0) / runs) * 1000).toFixed(1)}`);
    console.log(`            whole stack CPU ms per run: ${perRun.join(' · ')} · total ${((runCpu.reduce((sum, used) => sum + used.total, 0) / runs) * 1000).toFixed(1)}`);
  }

}


async function main() {
  const streamLevels = argument('streams', '100,250,500').split(',').map(Number);
  const ttftRounds = Number(argument('ttft-rounds', '3'));
  // BENCH_CPU_PROFILE=1 writes V8 CPU profiles of each process to .data/bench/profiles.
  // --like-start: Temporal on a SQLite file and search on, as `npm start` runs them (bench/README.md).
  const stack = await startBenchStack({ cpuProfile: Boolean(process.env.BENCH_CPU_PROFILE), likeStart: process.argv.includes('--like-start') });
  try {
    console.log(`stack: ${stack.shape}`);
    const { runId } = stack;
    const worker = stack.workers[0]!;
    const { process: api, baseUrl } = stack.apis[0]!;
    const token = await stack.login();
    const children = { api: [api.pid!], worker: [worker.pid!], provider: [stack.provider.pid!] };
    const direct = new OpenAI({ apiKey: 'demo', baseURL: stack.environment.DEMO_PROVIDER_URL, maxRetries: 0 });
    // Warm up both paths (worker bundle, connections, JIT).
    await inParallel(5, (index) => durachatChat(baseUrl, token, `warm up ${index} [tokens=20]`));
    await inParallel(5, (index) => directChat(direct, `warm up ${index} [tokens=20]`));
    const history = Number(argument('history', '0'));
    if (history > 0) console.log(`history: ${history} messages seeded in ${(await seedHistory(stack.environment.MONGO_URI!, history)).toFixed(1)} s`);
    await stack.addLookupIndexes();

    if (!process.argv.includes('--skip-ttft')) await measureTimeToFirstToken(baseUrl, token, direct, ttftRounds, children);

    console.log('\n(b) concurrent streams: 300 tokens at 50 tokens/s each (ideal duration 6 s)');
    console.log('streams | completed | lost/reordered | wall s | TTFT p50/p99 ms | CPU s per 1k tokens (api, worker) | peak RSS MiB (api, worker)');
    for (const streams of streamLevels) {
      const cpuBefore = { api: cpuSeconds(api.pid!), worker: cpuSeconds(worker.pid!) };
      const stackBefore = stackCpuSnapshot(children);
      const started = performance.now();
      const samples = await inParallel(streams, async (index) => {
        // Spread the starts over one second, as real users do not press Enter in the same millisecond.
        await new Promise((resolve) => setTimeout(resolve, (index / streams) * 1000));
        const text = `load ${streams}-${index}-${runId} [tokens=300 rate=50]`;
        return { sample: await durachatChat(baseUrl, token, text).catch(() => ({ ttftMs: NaN, text: '', completed: false })), expected: replyTokens(text, 300).join('') };
      });
      const wallSeconds = (performance.now() - started) / 1000;
      const completed = samples.filter(({ sample }) => sample.completed).length;
      const corrupted = samples.filter(({ sample, expected }) => sample.completed && sample.text !== expected).length;
      const tokens = completed * 300;
      const cpu = { api: cpuSeconds(api.pid!) - cpuBefore.api, worker: cpuSeconds(worker.pid!) - cpuBefore.worker };
      const stackUsed = stackCpuUsed(stackBefore, stackCpuSnapshot(children));
      const ttfts = samples.map(({ sample }) => sample.ttftMs).filter((value) => !Number.isNaN(value));
      console.log(
        `${String(streams).padStart(7)} | ${String(completed).padStart(9)} | ${String(streams - completed + corrupted).padStart(14)} | ${wallSeconds.toFixed(1).padStart(6)} | ${percentile(ttfts, 0.5).toFixed(0)}/${percentile(ttfts, 0.99).toFixed(0)} | ${((cpu.api / tokens) * 1000).toFixed(3)}, ${((cpu.worker / tokens) * 1000).toFixed(3)} | ${peakRssMiB(api.pid!).toFixed(0)}, ${peakRssMiB(worker.pid!).toFixed(0)}`,
      );
      console.log(`        whole stack, CPU s per 1k tokens: ${formatPerThousand(stackUsed, tokens)}`);
    }
  } finally {
    await stack.shutdown();
  }
}

if (isMain(import.meta.url)) await main();
