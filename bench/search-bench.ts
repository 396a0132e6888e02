/**
 * `npm run bench -- --search` (bench/README.md, "Search"): the search benchmarks of issue 12.
 *
 * (a) Query latency at 100,000 indexed messages: a deterministic corpus (bench/search-corpus.ts: 20 users, one
 *     heavy user holding 60 % of 10,000 conversations) is written through the PostgreSQL engine's own
 *     upserts into a schema of its own (`--schema`, default durachat_search_bench; reused by the next run
 *     when it already holds the same corpus, dropped at the end unless `--keep`), then `searchMessages` and
 *     `searchConversations` are timed for common, rare and absent words, two words and prefixes as typed,
 *     for the heavy user and a light one. Then the same queries through HTTP (`GET /api/messages?search=`,
 *     `GET /api/convos?search=`) on the bench stack's API (no worker: nothing may reconcile the seeded
 *     index against its empty database), logged in as the heavy user; the first page of each query is
 *     copied into the database so the route reads back and returns full pages.
 * (b) Indexing lag under N concurrent chats (`--chats 50`): on the bench stack with a worker (indexer on the
 *     search queue) and a fresh search schema, N chats start at once, each prompt holding a unique word and
 *     `[echo=user]` (the reply repeats it); from each chat's final event (both messages saved), the client
 *     polls `GET /api/messages?search=<word>` every `--poll-ms` until both messages are found (a miss after
 *     `--lag-timeout-ms`).
 *
 * Options: --messages 100000 --conversations 10000 --users 20 --rounds 30 --chats 50 (or levels: 1,10,50)
 *          --poll-ms 100 --lag-timeout-ms 60000 --keep --skip-engine --skip-http --skip-lag --only-seed
 */
import { Client as TemporalClient, Connection } from '@temporalio/client';
import bcrypt from 'bcryptjs';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import mongoose from 'mongoose';
import pg from 'pg';
import { createPostgresSearchEngine } from '../activities/search/engines/postgres-search-engine.ts';
import type { SearchEngine, SearchMessageDocument, SearchQuery } from '../activities/search/search-engine.ts';
import { ferretdbPostgresqlUrl } from '../infra/local-services.ts';
import { Conversation, Message, User } from '../shared/models/index.ts';
import { argument, root, startBenchStack, type BenchStack } from './bench-stack.ts';
import { percentile } from './process-stats.ts';
import { createCorpus, type Corpus } from './search-corpus.ts';
import { readSse } from '../test/helpers/sse-client.ts';

const messageCount = Number(argument('messages', '100000'));
const conversationCount = Number(argument('conversations', '10000'));
const userCount = Number(argument('users', '20'));
const rounds = Number(argument('rounds', '30'));
const chatLevels = argument('chats', '50').split(',').map(Number);
const pollMs = Number(argument('poll-ms', '100'));
const lagTimeoutMs = Number(argument('lag-timeout-ms', '60000'));
const schema = argument('schema', 'durachat_search_bench');
const flag = (name: string) => process.argv.includes(`--${name}`);
const url = process.env.SEARCH_POSTGRES_URL || ferretdbPostgresqlUrl();
const language = 'simple';
/** The heavy user's id: an ObjectId, so the HTTP part can log in as that user (created with this _id). */
const HEAVY_USER_ID = '656e63680000000000000001';
const PAGE = 25;

const ms = (value: number) => (Number.isNaN(value) ? '–' : value < 10 ? value.toFixed(2) : value.toFixed(1));

async function timed<T>(task: () => Promise<T>): Promise<[number, T]> {
  const started = performance.now();
  const result = await task();
  return [performance.now() - started, result];
}

/** p50/p99 of `rounds` sequential runs after 2 warm-up runs. */
async function latency(task: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let index = 0; index < 2; index += 1) await task();
  const samples: number[] = [];
  for (let index = 0; index < rounds; index += 1) samples.push((await timed(task))[0]);
  return { p50: percentile(samples, 0.5), p99: percentile(samples, 0.99) };
}

// ---------------------------------------------------------------------------------------------- seeding

async function seed(engine: SearchEngine, pool: pg.Pool, corpus: Corpus, signature: string) {
  const settings = `${pg.escapeIdentifier(schema)}.settings`;
  const existing = await pool.query(`SELECT value FROM ${settings} WHERE name = 'bench_corpus'`).catch(() => undefined);
  if (existing?.rows[0]?.value === signature) {
    await engine.prepare();
    console.log(`(a) reusing schema ${schema}: it already holds this corpus (${signature})`);
    return;
  }
  await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
  await engine.prepare();
  console.log(`(a) seeding ${messageCount} messages in ${conversationCount} conversations of ${userCount} users into schema ${schema} through upsertMessages/upsertConversations ...`);
  const started = performance.now();
  let conversations: Parameters<SearchEngine['upsertConversations']>[0] = [];
  let messages: SearchMessageDocument[] = [];
  let characters = 0;
  let written = 0;
  for (const entry of corpus.conversations()) {
    conversations.push(entry.conversation);
    messages.push(...entry.messages);
    for (const message of entry.messages) characters += message.text.length;
    if (messages.length >= 2_000) {
      await engine.upsertConversations(conversations);
      await engine.upsertMessages(messages);
      written += messages.length;
      conversations = [];
      messages = [];
      if (written % 20_000 < 2_000) console.log(`    ${written} messages, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }
  }
  await engine.upsertConversations(conversations);
  await engine.upsertMessages(messages);
  const seconds = (performance.now() - started) / 1000;
  console.log(`    seeded in ${seconds.toFixed(1)} s (${(messageCount / seconds).toFixed(0)} messages/s, ${(characters / 1024 / 1024).toFixed(1)} MiB of text); VACUUM ANALYZE ...`);
  await pool.query(`VACUUM ANALYZE ${pg.escapeIdentifier(schema)}.messages`);
  await pool.query(`VACUUM ANALYZE ${pg.escapeIdentifier(schema)}.conversations`);
  await pool.query(`INSERT INTO ${settings} (name, value) VALUES ('bench_corpus', $1) ON CONFLICT (name) DO UPDATE SET value = EXCLUDED.value`, [signature]);
}

// ---------------------------------------------------------------------------------------------- queries

interface QueryCase {
  label: string;
  text: string;
}

function queryCases(corpus: Corpus): QueryCase[] {
  return [
    { label: 'common word', text: 'the' },
    { label: 'frequent word', text: 'error' },
    { label: 'mid word', text: 'temporal' },
    { label: 'rare word', text: corpus.vocabulary.at(-1)! },
    { label: 'absent word', text: 'xylophonic' },
    { label: 'two words', text: 'deploy pipeline' },
    { label: 'two common words', text: 'the error' },
    { label: 'typing "te"', text: 'te' },
    { label: 'typing "tem"', text: 'tem' },
    { label: 'typing "temp"', text: 'temp' },
    { label: 'typing "tempo"', text: 'tempo' },
    { label: 'typing "tempor"', text: 'tempor' },
  ];
}

/** How many of the user's messages match (the same query the engine builds: words AND-ed, the last a prefix). */
async function matchCount(pool: pg.Pool, user: string, text: string): Promise<number> {
  const words = text.split(/\s+/).filter(Boolean);
  const query = words.map((word, index) => `'${word}'${index === words.length - 1 ? ':*' : ''}`).join(' & ');
  const result = await pool.query<{ count: string }>(`SELECT count(*) FROM ${pg.escapeIdentifier(schema)}.messages WHERE user_id = $1 AND search_vector @@ to_tsquery($2::regconfig, $3)`, [
    user,
    language,
    query,
  ]);
  return Number(result.rows[0]!.count);
}

async function engineLatency(engine: SearchEngine, pool: pg.Pool, corpus: Corpus) {
  console.log(`\n(a) engine query latency, ms (${rounds} sequential rounds after 2 warm-up; page of ${PAGE}; p99 of ${rounds} rounds is the slowest round)`);
  console.log('user  | query                      | matching msgs | searchMessages p50   p99 | searchConversations p50   p99');
  for (const [name, user] of [
    ['heavy', corpus.heavyUser],
    ['light', corpus.lightUser],
  ] as const) {
    for (const entry of queryCases(corpus)) {
      const query: SearchQuery = { user, text: entry.text, limit: PAGE };
      const count = await matchCount(pool, user, entry.text);
      const messages = await latency(() => engine.searchMessages(query));
      const conversations = await latency(() => engine.searchConversations(query));
      console.log(
        `${name.padEnd(5)} | ${`${entry.label} (${entry.text})`.padEnd(26)} | ${String(count).padStart(13)} | ${ms(messages.p50).padStart(18)} ${ms(messages.p99).padStart(5)} | ${ms(conversations.p50).padStart(23)} ${ms(conversations.p99).padStart(5)}`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------- HTTP

async function httpLatency(engine: SearchEngine, pool: pg.Pool, corpus: Corpus) {
  const stack = await startBenchStack({ workers: 0, environment: { SEARCH_POSTGRES_URL: url, SEARCH_POSTGRES_SCHEMA: schema, SEARCH_LANGUAGE: language } });
  try {
    const api = stack.apis[0]!.baseUrl;
    await mongoose.connect(stack.environment.MONGO_URI!, { serverSelectionTimeoutMS: 10_000 });
    const password = 'search benchmark password';
    await User.create({ _id: new mongoose.Types.ObjectId(HEAVY_USER_ID), name: 'search bench', email: 'search-bench@example.com', password: await bcrypt.hash(password, 10), emailVerified: true, provider: 'local', role: 'USER' });
    const login = await fetch(`${api}/api/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email: 'search-bench@example.com', password }) });
    const token = ((await login.json()) as { token: string }).token;
    const headers = { authorization: `Bearer ${token}` };
    const enabled = await (await fetch(`${api}/api/search/enable`, { headers })).json();
    if (enabled !== true) throw new Error(`GET /api/search/enable answered ${JSON.stringify(enabled)}`);

    // The first page of every query, copied into the database: the routes read each hit back from it.
    const cases = queryCases(corpus);
    const messageIds = new Set<string>();
    const conversationIds = new Set<string>();
    for (const entry of cases) {
      const query = { user: corpus.heavyUser, text: entry.text, limit: PAGE };
      for (const hit of (await engine.searchMessages(query)).hits) {
        messageIds.add(hit.messageId);
        conversationIds.add(hit.conversationId);
      }
      for (const hit of (await engine.searchConversations(query)).hits) conversationIds.add(hit.conversationId);
    }
    const table = pg.escapeIdentifier(schema);
    const messageRows = await pool.query(`SELECT message_id, conversation_id, sender, text, is_created_by_user FROM ${table}.messages WHERE message_id = ANY($1)`, [[...messageIds]]);
    const conversationRows = await pool.query(`SELECT conversation_id, title FROM ${table}.conversations WHERE conversation_id = ANY($1)`, [[...conversationIds]]);
    await Message.insertMany(messageRows.rows.map((row) => ({ messageId: row.message_id, conversationId: row.conversation_id, user: HEAVY_USER_ID, sender: row.sender, text: row.text, isCreatedByUser: row.is_created_by_user, endpoint: 'demo', model: 'demo-fast' })));
    await Conversation.insertMany(conversationRows.rows.map((row) => ({ conversationId: row.conversation_id, user: HEAVY_USER_ID, title: row.title, endpoint: 'demo', model: 'demo-fast' })));
    console.log(`\n(a) HTTP query latency, ms, heavy user (API ${api}; ${messageRows.rowCount} messages and ${conversationRows.rowCount} conversations, the first pages, copied into its database; ${rounds} rounds after 2 warm-up)`);
    console.log('query                      | GET /api/messages?search= p50   p99 (hits) | GET /api/convos?search= p50   p99 (hits)');
    for (const entry of cases) {
      const search = encodeURIComponent(entry.text);
      const get = async (route: string, key: 'messages' | 'conversations') => {
        const response = await fetch(`${api}${route}`, { headers });
        const body = (await response.json()) as Record<string, unknown[]>;
        if (response.status !== 200) throw new Error(`${route}: ${response.status} ${JSON.stringify(body)}`);
        return body[key]!.length;
      };
      const messagesRoute = `/api/messages?search=${search}&pageSize=${PAGE}`;
      const convosRoute = `/api/convos?search=${search}&limit=${PAGE}`;
      const messageHits = await get(messagesRoute, 'messages');
      const conversationHits = await get(convosRoute, 'conversations');
      const messages = await latency(() => get(messagesRoute, 'messages'));
      const conversations = await latency(() => get(convosRoute, 'conversations'));
      console.log(
        `${`${entry.label} (${entry.text})`.padEnd(26)} | ${ms(messages.p50).padStart(29)} ${ms(messages.p99).padStart(5)} (${String(messageHits).padStart(2)}) | ${ms(conversations.p50).padStart(27)} ${ms(conversations.p99).padStart(5)} (${String(conversationHits).padStart(2)})`,
      );
    }
  } finally {
    await mongoose.disconnect().catch(() => undefined);
    await stack.shutdown();
  }
}

// ---------------------------------------------------------------------------------------------- lag

interface ChatOutcome {
  word: string;
  ids?: [string, string];
  finalAt?: number;
  /** Final event → the start of the request that found both messages (the index had them by that request's answer). */
  lagMs?: number;
  /** Final event → that request's answer. */
  answeredMs?: number;
  polls: number;
  /** Each poll's request → response, ms. */
  pollMs: number[];
  error?: string;
}

async function indexingLag(pool: pg.Pool) {
  const lagSchema = `${schema}_lag_${randomBytes(4).toString('hex')}`;
  const stack: BenchStack = await startBenchStack({ environment: { SEARCH_POSTGRES_URL: url, SEARCH_POSTGRES_SCHEMA: lagSchema, SEARCH_LANGUAGE: language } });
  const searchQueue = `${stack.environment.TEMPORAL_TASK_QUEUE}-search`;
  try {
    const api = stack.apis[0]!.baseUrl;
    const token = await stack.login();
    const headers = { authorization: `Bearer ${token}` };
    const enableDeadline = Date.now() + 60_000;
    while ((await (await fetch(`${api}/api/search/enable`, { headers })).json()) !== true) {
      if (Date.now() > enableDeadline) throw new Error('GET /api/search/enable never answered true');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    for (const chats of chatLevels) await lagLevel(api, headers, chats, lagSchema, pool);
    await describeIndexer(stack.environment.TEMPORAL_ADDRESS!, searchQueue);
  } finally {
    // The schedule and the indexer outlive the stack on a reused Temporal server: remove this run's.
    const connection = await Connection.connect({ address: stack.environment.TEMPORAL_ADDRESS! }).catch(() => undefined);
    if (connection) {
      const client = new TemporalClient({ connection });
      await client.schedule.getHandle(`${searchQueue}-reconcile`).delete().catch(() => undefined);
      await client.workflow.getHandle(`${searchQueue}-indexer`).terminate('search benchmark finished').catch(() => undefined);
      await connection.close();
    }
    await stack.shutdown();
    await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(lagSchema)} CASCADE`).catch((error: Error) => console.error(`could not drop ${lagSchema}: ${error.message}`));
  }
}

/** One level of part (b): `chats` chats at once, each timed from its final event until both its messages are found. */
async function lagLevel(api: string, headers: Record<string, string>, chats: number, lagSchema: string, pool: pg.Pool) {
  const tag = randomBytes(3).toString('hex');
  const outcomes: ChatOutcome[] = Array.from({ length: chats }, (_, index) => ({ word: `lag${tag}q${String(index).padStart(3, '0')}z`, polls: 0, pollMs: [] }));
  console.log(`\n(b) indexing lag: ${chats} chats at once (search schema ${lagSchema}, polling every ${pollMs} ms, timeout ${lagTimeoutMs} ms)`);
  const started = performance.now();
  await Promise.all(
    outcomes.map(async (outcome, index) => {
      try {
        const response = await fetch(`${api}/api/agents/chat/custom`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify({ endpoint: 'demo', model: 'demo-fast', text: `Search benchmark chat ${index}: please remember ${outcome.word} [echo=user]`, conversationId: null }),
        });
        await readSse(response, ({ data }) => {
          if (!data?.final) return false;
          outcome.finalAt = performance.now();
          const request = data.requestMessage?.messageId;
          const reply = data.responseMessage?.messageId;
          if (request && reply) outcome.ids = [request, reply];
          return true;
        });
        if (!outcome.ids || outcome.finalAt === undefined) throw new Error(`no final event with both message ids (HTTP ${response.status})`);
        const [requestId, replyId] = outcome.ids;
        while (performance.now() - outcome.finalAt < lagTimeoutMs) {
          outcome.polls += 1;
          const sentAt = performance.now();
          const found = await fetch(`${api}/api/messages?search=${outcome.word}&pageSize=${PAGE}`, { headers });
          const body = found.status === 200 ? ((await found.json()) as { messages: Array<{ messageId: string }> }) : (await found.arrayBuffer(), undefined);
          const answeredAt = performance.now();
          outcome.pollMs.push(answeredAt - sentAt);
          const ids = new Set(body?.messages.map((message) => message.messageId));
          if (ids.has(requestId) && ids.has(replyId)) {
            outcome.lagMs = sentAt - outcome.finalAt;
            outcome.answeredMs = answeredAt - outcome.finalAt;
            return;
          }
          await new Promise((resolve) => setTimeout(resolve, pollMs));
        }
      } catch (error) {
        outcome.error = (error as Error).message;
      }
    }),
  );
  const wall = (performance.now() - started) / 1000;
  const lags = outcomes.flatMap((outcome) => (outcome.lagMs === undefined ? [] : [outcome.lagMs]));
  const misses = outcomes.filter((outcome) => outcome.lagMs === undefined);
  console.log(`completed chats: ${outcomes.filter((outcome) => outcome.finalAt !== undefined).length} of ${chats}; found: ${lags.length}; misses: ${misses.length}; wall ${wall.toFixed(1)} s; polls per chat p50 ${percentile(outcomes.map((outcome) => outcome.polls), 0.5)}`);
  const finals = outcomes.flatMap((outcome) => (outcome.finalAt === undefined ? [] : [(outcome.finalAt - started) / 1000]));
  console.log(`final events between +${Math.min(...finals).toFixed(1)} and +${Math.max(...finals).toFixed(1)} s after the first POST`);
  const answered = outcomes.flatMap((outcome) => (outcome.answeredMs === undefined ? [] : [outcome.answeredMs]));
  const polls = outcomes.flatMap((outcome) => outcome.pollMs);
  console.log(`lag, final event → the request that found both messages sent, ms: p50 ${ms(percentile(lags, 0.5))}  p99 ${ms(percentile(lags, 0.99))}  min ${ms(Math.min(...lags))}  max ${ms(Math.max(...lags))}`);
  console.log(`lag, final event → that request's answer, ms: p50 ${ms(percentile(answered, 0.5))}  p99 ${ms(percentile(answered, 0.99))}`);
  console.log(`search requests while polling (${polls.length}, one in flight per chat, ${pollMs} ms apart): p50 ${ms(percentile(polls, 0.5))}  p99 ${ms(percentile(polls, 0.99))} ms`);
  for (const miss of misses.slice(0, 5)) console.log(`  miss ${miss.word}: ${miss.error ?? 'not found before the timeout'}`);
  const indexed = await pool
    .query<{ count: string }>(`SELECT count(*) FROM ${pg.escapeIdentifier(lagSchema)}.messages WHERE search_vector @@ to_tsquery('simple', $1)`, [`lag${tag}q:*`])
    .catch((error: Error) => ({ rows: [{ count: `? (${error.message})` }] }));
  console.log(`this level's messages in the index at the end: ${indexed.rows[0]!.count} (expected ${chats * 2})`);
}

/** What the indexer workflow did (its history): drain activities, documents drained, time per activity. */
async function describeIndexer(address: string, searchQueue: string) {
  const connection = await Connection.connect({ address });
  try {
    const client = new TemporalClient({ connection });
    const history = await client.workflow.getHandle(`${searchQueue}-indexer`).fetchHistory();
    const scheduled = new Map<string, number>();
    const started = new Map<string, number>();
    const waits: number[] = [];
    const runs: string[] = [];
    let drained = 0;
    for (const event of history.events ?? []) {
      const at = Number(event.eventTime?.seconds?.toString() ?? 0) * 1000 + Math.floor((event.eventTime?.nanos ?? 0) / 1e6);
      if (event.activityTaskScheduledEventAttributes) scheduled.set(String(event.eventId), at);
      if (event.activityTaskStartedEventAttributes) started.set(String(event.activityTaskStartedEventAttributes.scheduledEventId), at);
      const completed = event.activityTaskCompletedEventAttributes;
      if (completed) {
        const id = String(completed.scheduledEventId);
        const payload = completed.result?.payloads?.[0]?.data;
        const count = payload ? Number(JSON.parse(Buffer.from(payload).toString('utf8')).drained ?? 0) : 0;
        drained += count;
        waits.push((started.get(id) ?? at) - (scheduled.get(id) ?? at));
        runs.push(`${count}/${((at - (started.get(id) ?? at)) / 1000).toFixed(2)}s`);
      }
    }
    console.log(`indexer (latest run of ${searchQueue}-indexer): ${runs.length} drain activities, ${drained} outbox entries drained; scheduled → started p50 ${ms(percentile(waits, 0.5))} ms, max ${ms(Math.max(...waits))} ms`);
    console.log(`  each drain, entries/started → completed: ${runs.join(' ')}`);
  } catch (error) {
    console.log(`indexer history not read: ${(error as Error).message}`);
  } finally {
    await connection.close();
  }
}

// ---------------------------------------------------------------------------------------------- main

async function main() {
  const corpus = createCorpus({ messages: messageCount, conversations: conversationCount, users: userCount, heavyShare: 0.6, heavyUser: HEAVY_USER_ID });
  const signature = `messages=${messageCount};conversations=${conversationCount};users=${userCount};seed=12;v=1`;
  const pool = new pg.Pool({ connectionString: url, max: 2 });
  const engine = createPostgresSearchEngine({ url, schema, language, statementTimeoutMs: 120_000 });
  try {
    await seed(engine, pool, corpus, signature);
    if (flag('only-seed')) return;
    if (!flag('skip-engine')) await engineLatency(engine, pool, corpus);
    if (!flag('skip-http')) await httpLatency(engine, pool, corpus);
    if (!flag('skip-lag')) {
      if (existsSync(path.join(root, 'workflows', 'search-indexer.ts'))) await indexingLag(pool);
      else console.log('\n(b) indexing lag: skipped, there is no indexer (workflows/search-indexer.ts) in this tree');
    }
  } finally {
    await engine.close();
    if (!flag('keep')) {
      await pool.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(schema)} CASCADE`);
      console.log(`\nschema ${schema} dropped (--keep keeps it for the next run)`);
    }
    await pool.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});
