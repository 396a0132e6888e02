/**
 * `npm run bench -- --search-drain [--documents 1000,20000 --rounds 10 --chats 10]`: what one drain of the
 * search outbox costs on the local stack (FerretDB over PostgreSQL, the PostgreSQL full-text engine) as the
 * database grows. Each round queues the changes of `--chats` finished chats (a conversation and two messages
 * each, as a chat turn records them) and drains them with the indexer's own activity code; before that, the
 * same ids are read once with one `$in` query and once as one equality query per id (what the drain does,
 * shared/find-each-id.ts), so the two can be compared on the same data.
 * Wall time and CPU (this process, FerretDB, PostgreSQL) per round. A throwaway PostgreSQL database and
 * FerretDB on a free port, both dropped at the end.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { MockActivityEnvironment } from '@temporalio/testing';
import { createDrainSearchOutbox } from '../activities/search/drain-outbox.ts';
import { createSearchEngine } from '../activities/search/create-search-engine.ts';
import { ensureFerretdbLookupIndexes, withCustomPlans } from '../infra/ferretdb-lookup-indexes.ts';
import { ferretdbExecutable, ferretdbPostgresqlUrl, findFreePort, psql, spawnLogged, stopChild, waitForPort, withDatabase } from '../infra/local-services.ts';
import { connectDatabase, disconnectDatabase } from '../shared/database.ts';
import { Conversation, Message } from '../shared/models/index.ts';
import { SearchOutbox } from '../shared/models/search-outbox.ts';
import { findEachId } from '../shared/find-each-id.ts';
import { loadSearchConfig } from '../shared/search-config.ts';
import { percentile } from './process-stats.ts';
import { replyText } from './seed-history.ts';
import { stackCpuSnapshot, stackCpuUsed } from './stack-cpu.ts';

const { values } = parseArgs({ options: { documents: { type: 'string', default: '1000,20000' }, rounds: { type: 'string', default: '10' }, chats: { type: 'string', default: '10' } } });
const sizes = values.documents.split(',').map(Number).sort((a, b) => a - b);
const rounds = Number(values.rounds);
const chats = Number(values.chats);
const adminUrl = ferretdbPostgresqlUrl();
const database = `durachat_bench_drain_${process.pid}`;
const url = withDatabase(adminUrl, database);
const logDirectory = mkdtempSync(path.join(os.tmpdir(), 'durachat-drain-'));
const MESSAGES_PER_CONVERSATION = 10;

await psql(adminUrl, `create database "${database}"`);
const port = await findFreePort();
const { child } = spawnLogged('ferretdb', ferretdbExecutable, ['--handler=postgresql', `--postgresql-url=${withCustomPlans(url)}`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${logDirectory}`, '--telemetry=disable', '--log-level=warn', '--debug-addr=-'], logDirectory);
try {
  await waitForPort(port, 'FerretDB', child);
  await connectDatabase(`mongodb://127.0.0.1:${port}/bench`);
  await Promise.all([Message.init(), Conversation.init(), SearchOutbox.init()]);
  const engine = createSearchEngine(loadSearchConfig({ SEARCH_POSTGRES_URL: url, SEARCH_POSTGRES_SCHEMA: 'durachat_search_bench' }))!;
  await engine.prepare();
  const drain = createDrainSearchOutbox({ engine });
  const conversationId = (index: number) => `c-${Math.floor(index / MESSAGES_PER_CONVERSATION)}`;
  let filled = 0;
  console.log('documents | $in read p50 ms | by-id read p50 ms | drain p50 / p99 ms | drain CPU ms per round: bench · ferretdb · postgresql · total');
  for (const size of sizes) {
    for (; filled < size; filled += 1000) {
      const batch = Array.from({ length: Math.min(1000, size - filled) }, (_, offset) => filled + offset);
      await Message.collection.insertMany(batch.map((index) => ({ messageId: `m-${index}`, user: `u-${index % 20}`, conversationId: conversationId(index), sender: 'Assistant', text: replyText, isCreatedByUser: index % 2 === 0, createdAt: new Date(), updatedAt: new Date() })));
      const firsts = batch.filter((index) => index % MESSAGES_PER_CONVERSATION === 0);
      if (firsts.length > 0) await Conversation.collection.insertMany(firsts.map((index) => ({ conversationId: conversationId(index), user: `u-${index % 20}`, title: `conversation ${index}`, createdAt: new Date(), updatedAt: new Date() })));
    }
    await ensureFerretdbLookupIndexes(url);
    const inReads: number[] = [];
    const eachReads: number[] = [];
    const drains: number[] = [];
    let cpu = { bench: 0, ferretdb: 0, postgresql: 0, total: 0 };
    for (let round = 0; round < rounds + 1; round += 1) {
      const picked = Array.from({ length: chats }, () => Math.floor(Math.random() * (size - 1)));
      const messageIds = picked.flatMap((index) => [`m-${index}`, `m-${index + 1}`]);
      const conversationIds = picked.map(conversationId);
      let start = performance.now();
      await Message.find({ messageId: { $in: messageIds } }).lean();
      const inRead = performance.now() - start;
      start = performance.now();
      await findEachId(messageIds, (messageId) => Message.find({ messageId }).lean());
      const eachRead = performance.now() - start;
      await SearchOutbox.collection.insertMany(picked.flatMap((index) => [
        { kind: 'message', id: `m-${index}`, user: `u-${index % 20}`, createdAt: new Date() },
        { kind: 'conversation', id: conversationId(index), user: `u-${index % 20}`, createdAt: new Date() },
        { kind: 'message', id: `m-${index + 1}`, user: `u-${(index + 1) % 20}`, createdAt: new Date() },
        { kind: 'conversation', id: conversationId(index), user: `u-${index % 20}`, createdAt: new Date() },
      ]));
      const before = stackCpuSnapshot({ bench: [process.pid], ferretdb: [child.pid!] });
      start = performance.now();
      const result = (await new MockActivityEnvironment().run(drain, { batchSize: 100, maxBatches: 20 })) as Awaited<ReturnType<typeof drain>>;
      const drainMs = performance.now() - start;
      const used = stackCpuUsed(before, stackCpuSnapshot({ bench: [process.pid], ferretdb: [child.pid!] }));
      if (result.drained !== chats * 4) throw new Error(`drained ${result.drained} entries, expected ${chats * 4}`);
      if (conversationIds.length === 0) throw new Error('nothing picked');
      if (round === 0) continue; // warm-up
      inReads.push(inRead);
      eachReads.push(eachRead);
      drains.push(drainMs);
      cpu = { bench: cpu.bench + (used.byRole.bench ?? 0), ferretdb: cpu.ferretdb + (used.byRole.ferretdb ?? 0), postgresql: cpu.postgresql + (used.byRole.postgresql ?? 0), total: cpu.total + used.total };
    }
    const ms = (seconds: number) => ((seconds / rounds) * 1000).toFixed(1);
    console.log(`${String(size).padStart(9)} | ${percentile(inReads, 0.5).toFixed(1).padStart(15)} | ${percentile(eachReads, 0.5).toFixed(1).padStart(17)} | ${percentile(drains, 0.5).toFixed(1)} / ${percentile(drains, 0.99).toFixed(1)} | ${ms(cpu.bench)} · ${ms(cpu.ferretdb)} · ${ms(cpu.postgresql)} · ${ms(cpu.total)}`);
  }
  await engine.close();
  await disconnectDatabase();
} finally {
  await stopChild(child);
  await psql(adminUrl, `drop database if exists "${database}" with (force)`).catch((error: Error) => console.error(`could not drop ${database}: ${error.message}`));
  rmSync(logDirectory, { recursive: true, force: true });
}
