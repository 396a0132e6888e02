/**
 * What the search tests share (issue 12): a PostgreSQL search schema of this test file's own, the real
 * search worker (workers/search-runtime.ts + createWorkers' search queue) in the test process, a TCP proxy
 * that can refuse connections (the engine "down" without touching the PostgreSQL FerretDB also runs on),
 * and snapshots of the index and the database to compare.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { Client } from '@temporalio/client';
import { NativeConnection } from '@temporalio/worker';
import pg from 'pg';
import { createPostgresSearchEngine } from '../../activities/search/engines/postgres-search-engine.ts';
import type { SearchDocumentKind, SearchEngine } from '../../activities/search/search-engine.ts';
import { ferretdbPostgresqlUrl } from '../../infra/local-services.ts';
import type { Config } from '../../shared/config.ts';
import { loadEndpointsConfig } from '../../shared/endpoints-config.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import { SearchOutbox } from '../../shared/models/search-outbox.ts';
import { createRedisClient } from '../../shared/redis-client.ts';
import { searchReconcileScheduleId } from '../../shared/search-indexing.ts';
import { createWorkers } from '../../workers/create-workers.ts';
import { startSearchRuntime } from '../../workers/search-runtime.ts';
import { createTokenCounter } from '../../workers/token-counter.ts';
import { testRunId } from './test-app.ts';

/** The run's search database (test/setup gives one when it can), else the local PostgreSQL FerretDB uses. */
export const searchPostgresUrl = process.env.SEARCH_POSTGRES_URL ?? ferretdbPostgresqlUrl();
/**
 * Per test file, so files running side by side never see each other's documents: `<run's schema>_<file>`,
 * which the run's teardown drops with its own (test/setup), and this file's afterAll drops first.
 */
export const searchSchema = `${process.env.SEARCH_POSTGRES_SCHEMA ?? 'durachat_search_test'}_${testRunId.replace(/[^a-z0-9]/g, '')}`;

/** Makes the API built by startTestApp (it reads process.env) use this file's engine. */
export function useSearchEnvironment(url = searchPostgresUrl): void {
  Object.assign(process.env, { SEARCH_POSTGRES_URL: url, SEARCH_POSTGRES_SCHEMA: searchSchema });
}

export function createTestSearchEngine(url = searchPostgresUrl): SearchEngine {
  return createPostgresSearchEngine({ url, schema: searchSchema, language: 'simple', warn: () => undefined });
}

export async function dropSearchSchema(): Promise<void> {
  const client = new pg.Client({ connectionString: searchPostgresUrl });
  await client.connect();
  try {
    await client.query(`DROP SCHEMA IF EXISTS ${pg.escapeIdentifier(searchSchema)} CASCADE`);
  } finally {
    await client.end();
  }
}

export interface SearchWorker {
  stop: () => Promise<void>;
}

/** The search queue's worker as workers/worker.ts builds it, on `engine`. */
export async function startSearchWorker(config: Config, engine: SearchEngine): Promise<SearchWorker> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const client = new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
  const redis = createRedisClient(config.REDIS_URI, 'test-search-worker');
  const tokenCounter = createTokenCounter({ maxThreads: 1 });
  const search = await startSearchRuntime({ config, client, engine, log: process.env.TEST_CHILD_OUTPUT ? (line) => console.warn(line) : () => undefined });
  const workers = await createWorkers({ config, endpoints: loadEndpointsConfig(config), redis, tokenCounter, connection, kinds: ['search'], search });
  assert.deepEqual(workers.map((entry) => entry.kind), ['search']);
  const running = Promise.all(workers.map(({ worker }) => worker.run()));
  return {
    async stop() {
      for (const { worker } of workers) worker.shutdown();
      await running;
      await connection.close();
      await tokenCounter.close();
      await redis.quit();
    },
  };
}

/** The schedule a search worker creates at start, removed so it does not outlive the test file. */
export async function deleteReconcileSchedule(config: Config): Promise<void> {
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  try {
    await new Client({ connection, namespace: config.TEMPORAL_NAMESPACE }).schedule.getHandle(searchReconcileScheduleId(config.TASK_QUEUES.search)).delete().catch(() => undefined);
  } finally {
    await connection.close();
  }
}


export const outboxEmpty = async () => (await SearchOutbox.countDocuments({})) === 0;

/** Every indexed id of `kind` with its updatedAt, walked the way reconciliation walks it. */
export async function indexSnapshot(engine: SearchEngine, kind: SearchDocumentKind): Promise<Map<string, string>> {
  const snapshot = new Map<string, string>();
  let after: string | undefined;
  for (;;) {
    const page = await engine.listDocuments(kind, after, 1000);
    for (const entry of page) {
      assert.ok(!snapshot.has(entry.id), `${entry.id} listed twice`);
      snapshot.set(entry.id, new Date(entry.updatedAt).toISOString());
    }
    if (page.length < 1000) return snapshot;
    after = page.at(-1)!.id;
  }
}

export async function databaseSnapshot(kind: SearchDocumentKind): Promise<Map<string, string>> {
  const key = kind === 'conversations' ? 'conversationId' : 'messageId';
  const model = kind === 'conversations' ? Conversation : Message;
  const found = await model.find({}, { [key]: 1, updatedAt: 1, _id: 0 }).lean<Array<Record<string, unknown>>>();
  return new Map(found.map((document) => [String(document[key]), new Date(document.updatedAt as Date).toISOString()]));
}

/** The index holds exactly the database's documents, each at the database's version. */
export async function assertIndexEqualsDatabase(engine: SearchEngine): Promise<void> {
  for (const kind of ['conversations', 'messages'] as const) {
    const [indexed, stored] = await Promise.all([indexSnapshot(engine, kind), databaseSnapshot(kind)]);
    const missing = [...stored.keys()].filter((id) => !indexed.has(id));
    const extra = [...indexed.keys()].filter((id) => !stored.has(id));
    const stale = [...stored].filter(([id, updatedAt]) => indexed.has(id) && indexed.get(id) !== updatedAt).map(([id]) => id);
    assert.deepEqual({ kind, missing, extra, stale }, { kind, missing: [], extra: [], stale: [] });
  }
}

export interface TcpProxy {
  url: (targetUrl: string) => string;
  port: number;
  /** Stops listening and cuts every open connection: new ones are refused. */
  refuse: () => Promise<void>;
  /** Listens again on the same port. */
  accept: () => Promise<void>;
  /** Each chunk towards the server waits this long (a slow engine, so a batch is surely in flight). */
  delayMs: number;
  close: () => Promise<void>;
}

/** A TCP proxy to `target` (host:port) that can refuse connections and slow them, on a fixed local port. */
export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    sockets.add(client).add(upstream);
    const forget = () => {
      sockets.delete(client);
      sockets.delete(upstream);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', forget).on('close', forget);
    upstream.on('error', forget).on('close', forget);
    client.on('data', (chunk) => {
      if (proxy.delayMs === 0) upstream.write(chunk);
      else {
        client.pause();
        setTimeout(() => {
          upstream.write(chunk);
          client.resume();
        }, proxy.delayMs);
      }
    });
    upstream.pipe(client);
  });
  const listen = (port: number) => new Promise<void>((resolve, reject) => server.once('error', reject).listen(port, '127.0.0.1', () => resolve()));
  await listen(0);
  const port = (server.address() as net.AddressInfo).port;
  const proxy: TcpProxy = {
    port,
    delayMs: 0,
    url: (targetUrl) => {
      const parsed = new URL(targetUrl);
      parsed.hostname = '127.0.0.1';
      parsed.port = String(port);
      return parsed.toString();
    },
    async refuse() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      sockets.clear();
      await closed;
    },
    async accept() {
      await listen(port);
    },
    async close() {
      if (server.listening) await proxy.refuse();
    },
  };
  return proxy;
}

export function postgresTarget(url = searchPostgresUrl): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname || '127.0.0.1', port: Number(parsed.port) || 5432 };
}

/**
 * Conversations written through `POST /api/convos/import` (chatbot-ui's format): the import's own write
 * path, change capture included. Answers the new conversations' ids in the order given.
 */
export async function importThroughApi(baseUrl: string, user: { token: string; user: { id: string } }, conversations: Array<{ title: string; messages: string[] }>): Promise<string[]> {
  const before = new Set((await Conversation.find({ user: user.user.id }, { conversationId: 1 }).lean<Array<{ conversationId: string }>>()).map((entry) => entry.conversationId));
  const history = conversations.map((conversation, index) => ({
    id: `import-${Date.now()}-${index}`,
    name: conversation.title,
    messages: conversation.messages.map((content, position) => ({ role: position % 2 === 0 ? 'user' : 'assistant', content })),
    model: { id: 'gpt-4', name: 'GPT-4' },
    prompt: '',
    temperature: 1,
    folderId: null,
  }));
  const form = new FormData();
  form.append('file', new Blob([JSON.stringify({ version: 4, history, folders: [], prompts: [] })], { type: 'application/json' }), 'export.json');
  const response = await fetch(`${baseUrl}/api/convos/import`, { method: 'POST', body: form, headers: { authorization: `Bearer ${user.token}` } });
  assert.equal(response.status, 201, await response.text());
  const created = await Conversation.find({ user: user.user.id }, { conversationId: 1, title: 1 }).lean<Array<{ conversationId: string; title: string }>>();
  const fresh = created.filter((entry) => !before.has(entry.conversationId));
  return conversations.map((conversation) => fresh.find((entry) => entry.title === conversation.title)!.conversationId);
}
