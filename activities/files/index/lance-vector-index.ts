import { mkdir } from 'node:fs/promises';
import type * as lancedb from '@lancedb/lancedb';
import type { Schema } from 'apache-arrow';
import { vectorIndexRejected } from './index-errors.ts';
import { relevanceFromDistance, type ChunkHit, type ChunkToIndex, type ChunkVectorIndex, type IndexQuery } from './vector-index.ts';

export interface LanceVectorIndexOptions {
  /** A folder under the data dir; created when missing. */
  directory: string;
  /** One table for every file and user; its vector width is fixed by the first chunks written. */
  tableName?: string;
}

const MAX_K = 100;

/**
 * A string literal for a Lance filter: quotes doubled, as standard SQL escapes them. Lance's SQL reads a
 * backslash as itself (the filter `id = 'a\b'` matches the id a\b; `\'` does not escape a quote), so
 * nothing else can end the literal and an id can never add a clause of its own. The tests store ids made
 * of quotes, backslashes and `OR 1=1`.
 */
/**
 * The table, or undefined when it is not there yet. LanceDB lists a table as soon as its folder exists, and a
 * process creating it (another worker's first ingestion) writes the first version a moment later: opening it
 * in between fails with "was not found", which is the same as not there yet.
 */
export async function openCommittedTable(db: lancedb.Connection, tableName: string): Promise<lancedb.Table | undefined> {
  if (!(await db.tableNames()).includes(tableName)) return undefined;
  try {
    return await db.openTable(tableName);
  } catch (error) {
    if (/^Table '[^']*' was not found/.test((error as Error).message)) return undefined;
    throw error;
  }
}

export function sqlString(value: string): string {
  if (value.includes('\0')) throw vectorIndexRejected('An id for the vector index contains a NUL character.');
  return `'${value.replaceAll("'", "''")}'`;
}

/**
 * LanceDB and Arrow are loaded when the index is first used, not when the worker starts: together they hold
 * ~17 MiB of the worker's memory, which a worker that never ingests or searches files should not carry.
 */
const loadLance = () => import('@lancedb/lancedb');
const loadArrow = () => import('apache-arrow');

async function chunkSchema(dimensions: number): Promise<Schema> {
  const { Field, FixedSizeList, Float32, Int32, List, Schema, Utf8 } = await loadArrow();
  return new Schema([
    new Field('id', new Utf8(), false),
    new Field('file_id', new Utf8(), false),
    new Field('user_id', new Utf8(), false),
    new Field('chunk_index', new Int32(), false),
    new Field('text', new Utf8(), false),
    new Field('pages', new List(new Field('item', new Int32(), true)), false),
    new Field('vector', new FixedSizeList(dimensions, new Field('item', new Float32(), true)), false),
  ]);
}

/** The width of the table's vector column. */
async function vectorWidth(table: lancedb.Table): Promise<number> {
  const type = (await table.schema()).fields.find((field) => field.name === 'vector')?.type;
  const { FixedSizeList } = await loadArrow();
  return type instanceof FixedSizeList ? type.listSize : (type as { listSize?: number } | undefined)?.listSize ?? 0;
}

/**
 * The embedded default: LanceDB on local disk, no server. Upserts merge on the chunk id (a retried or
 * re-run batch replaces, never duplicates); queries are cosine nearest neighbours pre-filtered to one user's
 * files. Without an ANN index LanceDB scans exactly, which is fast to a few hundred thousand chunks.
 */
export function createLanceVectorIndex(options: LanceVectorIndexOptions): ChunkVectorIndex {
  const tableName = options.tableName ?? 'file_chunks';
  let connection: Promise<lancedb.Connection> | undefined;
  let table: lancedb.Table | undefined;

  async function connect(): Promise<lancedb.Connection> {
    // readConsistencyInterval 0: every read looks for newer versions. LanceDB's default never does, so a
    // process that opened the table (the agent worker's file_search) would not see another process's
    // ingestions or deletions. On a local folder the check is one small read.
    connection ??= mkdir(options.directory, { recursive: true }).then(loadLance).then((lance) => lance.connect(options.directory, { readConsistencyInterval: 0 }));
    try {
      return await connection;
    } catch (error) {
      connection = undefined;
      throw error;
    }
  }

  /** The table, opened once; undefined while nothing was ever written (another worker may create it later). */
  async function existingTable(): Promise<lancedb.Table | undefined> {
    if (table) return table;
    table = await openCommittedTable(await connect(), tableName);
    return table;
  }

  async function tableFor(dimensions: number): Promise<lancedb.Table> {
    const found = await existingTable();
    if (found) return found;
    // existOk: two workers writing their first chunks at once both end with the one table.
    const db = await connect();
    await db.createEmptyTable(tableName, await chunkSchema(dimensions), { mode: 'create', existOk: true });
    table = await db.openTable(tableName);
    return table;
  }

  async function checkWidth(target: lancedb.Table, dimensions: number) {
    const width = await vectorWidth(target);
    if (width !== dimensions) {
      throw vectorIndexRejected(
        `The vector index holds ${width}-dimensional vectors but got ${dimensions}: the embeddings model changed. Use a new table (or folder) for the new model and re-ingest the files.`,
        { expected: width, got: dimensions },
      );
    }
  }

  return {
    kind: 'lancedb',
    ingestsRawFiles: false,

    async upsertChunks(fileId: string, userId: string, chunks: ChunkToIndex[]) {
      if (chunks.length === 0) return;
      const dimensions = chunks[0]!.vector.length;
      const target = await tableFor(dimensions);
      await checkWidth(target, dimensions);
      const rows = chunks.map((chunk) => {
        if (chunk.vector.length !== dimensions) throw vectorIndexRejected(`Chunk ${chunk.id} has ${chunk.vector.length} dimensions, the batch ${dimensions}.`);
        return { id: chunk.id, file_id: fileId, user_id: userId, chunk_index: chunk.index, text: chunk.text, pages: chunk.pages, vector: chunk.vector };
      });
      await target.mergeInsert('id').whenMatchedUpdateAll().whenNotMatchedInsertAll().execute(rows);
    },

    async query(query: IndexQuery): Promise<ChunkHit[]> {
      if (!query.vector) throw vectorIndexRejected('A LanceDB query needs the question embedded (IndexQuery.vector).');
      if (query.fileIds.length === 0) return [];
      const target = await existingTable();
      if (!target) return [];
      await checkWidth(target, query.vector.length);
      const k = Math.min(Math.max(1, Math.floor(query.k)), MAX_K);
      const filter = `user_id = ${sqlString(query.userId)} AND file_id IN (${query.fileIds.map(sqlString).join(', ')})`;
      const rows = await target
        .vectorSearch(query.vector)
        .distanceType('cosine')
        .where(filter)
        .select(['file_id', 'chunk_index', 'text', 'pages', '_distance'])
        .limit(k)
        .toArray();
      return rows.map((row) => ({
        fileId: String(row.file_id),
        chunkIndex: Number(row.chunk_index),
        text: String(row.text),
        pages: row.pages ? Array.from(row.pages as ArrayLike<number>, Number) : [],
        score: relevanceFromDistance(Number(row._distance)),
      }));
    },

    async deleteFile(fileId: string) {
      const target = await existingTable();
      if (target) await target.delete(`file_id = ${sqlString(fileId)}`);
    },

    async countChunks(fileId: string) {
      const target = await existingTable();
      return target ? target.countRows(`file_id = ${sqlString(fileId)}`) : 0;
    },

    async close() {
      table?.close();
      table = undefined;
      if (connection) (await connection.catch(() => undefined))?.close();
      connection = undefined;
    },
  };
}
