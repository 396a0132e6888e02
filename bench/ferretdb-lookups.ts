/**
 * `npm run bench -- --ferretdb-lookups [--documents 50000 --lookups 200]`: what one indexed lookup costs on the
 * local stack's FerretDB over PostgreSQL as a collection grows, as FerretDB runs by default and as the stack
 * runs it (custom plans + GIN lookup indexes, infra/ferretdb-lookup-indexes.ts). A throwaway PostgreSQL
 * database and FerretDB on free ports; both dropped at the end.
 */
import { parseArgs } from 'node:util';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import mongoose from 'mongoose';
import { ensureFerretdbLookupIndexes, withCustomPlans } from '../infra/ferretdb-lookup-indexes.ts';
import { ferretdbExecutable, ferretdbPostgresqlUrl, findFreePort, psql, spawnLogged, stopChild, waitForPort, withDatabase } from '../infra/local-services.ts';

const { values } = parseArgs({ options: { documents: { type: 'string', default: '50000' }, lookups: { type: 'string', default: '200' } } });
const sizes = [1_000, 10_000, Number(values.documents)].filter((size, index, all) => all.indexOf(size) === index && size <= Number(values.documents));
const lookups = Number(values.lookups);
const adminUrl = ferretdbPostgresqlUrl();
const database = `durachat_bench_lookups_${process.pid}`;
const url = withDatabase(adminUrl, database);
const logDirectory = mkdtempSync(path.join(os.tmpdir(), 'durachat-lookups-'));

async function startFerret(postgresqlUrl: string) {
  const port = await findFreePort();
  const { child } = spawnLogged('ferretdb', ferretdbExecutable, ['--handler=postgresql', `--postgresql-url=${postgresqlUrl}`, `--listen-addr=127.0.0.1:${port}`, `--state-dir=${logDirectory}`, '--telemetry=disable', '--log-level=warn', '--debug-addr=-'], logDirectory);
  await waitForPort(port, 'FerretDB', child);
  return { child, uri: `mongodb://127.0.0.1:${port}/bench` };
}

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!;

async function measure(uri: string, size: number) {
  const connection = await mongoose.createConnection(uri).asPromise();
  const messages = connection.collection('messages');
  const times: number[] = [];
  for (let index = 0; index < lookups; index += 1) {
    const id = `m-${Math.floor(Math.random() * size)}`;
    const start = performance.now();
    const found = await messages.findOne({ messageId: id });
    times.push(performance.now() - start);
    if (!found) throw new Error(`lookup of ${id} found nothing`);
  }
  await connection.close();
  times.sort((a, b) => a - b);
  return `p50 ${percentile(times, 0.5).toFixed(1)} ms, p99 ${percentile(times, 0.99).toFixed(1)} ms`;
}

await psql(adminUrl, `create database "${database}"`);
try {
  let filled = 0;
  for (const size of sizes) {
    // The default as FerretDB runs it: no lookup indexes (the previous size's are dropped), generic plans allowed.
    for (const name of (await psql(url, "select indexname from pg_indexes where schemaname = 'bench' and indexname like 'dgin%'")).split('\n').filter(Boolean)) {
      await psql(url, `drop index "bench"."${name}"`);
    }
    const plain = await startFerret(url);
    const connection = await mongoose.createConnection(plain.uri).asPromise();
    const messages = connection.collection('messages');
    await messages.createIndex({ messageId: 1, user: 1 }, { unique: true });
    for (; filled < size; filled += 1000) {
      await messages.insertMany(Array.from({ length: Math.min(1000, size - filled) }, (_, offset) => ({ messageId: `m-${filled + offset}`, user: `u-${(filled + offset) % 20}`, conversationId: `c-${Math.floor((filled + offset) / 10)}`, text: 'a reply of about a kilobyte and a half, as a model writes them. '.repeat(24), content: [{ type: 'text', text: 'the same reply as content parts' }] })));
    }
    await connection.close();
    const before = await measure(plain.uri, size);
    await stopChild(plain.child);
    const tuned = await startFerret(withCustomPlans(url));
    await ensureFerretdbLookupIndexes(url);
    const after = await measure(tuned.uri, size);
    await stopChild(tuned.child);
    console.log(`${String(size).padStart(7)} documents: FerretDB default ${before}; custom plans + GIN lookup indexes ${after}`);
  }
} finally {
  await psql(adminUrl, `drop database if exists "${database}"`).catch((error: Error) => console.error(`could not drop ${database}: ${error.message}`));
  rmSync(logDirectory, { recursive: true, force: true });
}
