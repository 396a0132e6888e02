/**
 * What the LanceDB index holds for a file, read straight from the table (not through the product's
 * VectorIndex, whose countChunks cannot tell one copy of each chunk from two copies of half of them).
 */
import * as lancedb from '@lancedb/lancedb';
import { openCommittedTable, sqlString } from '../../activities/files/index/lance-vector-index.ts';
import { loadFileSearchConfig } from '../../shared/file-search-config.ts';

export interface IndexedRow {
  id: string;
  chunkIndex: number;
}

/** The LanceDB folder and table the workers given `environment` write to. */
export function lanceLocation(environment: Record<string, string | undefined>, dataDir: string): { directory: string; tableName: string } {
  const search = loadFileSearchConfig(environment as NodeJS.ProcessEnv, { DATA_DIR: dataDir });
  if (search.index.kind !== 'lancedb') throw new Error('these tests need the LanceDB index (RAG_API_URL is set)');
  return { directory: search.index.directory, tableName: search.index.tableName };
}

/** Every row the table holds for `fileId` (none when the table was never created). */
export async function indexedRows(location: { directory: string; tableName: string }, fileId: string): Promise<IndexedRow[]> {
  const db = await lancedb.connect(location.directory, { readConsistencyInterval: 0 });
  try {
    const table = await openCommittedTable(db, location.tableName);
    if (!table) return [];
    try {
      const rows = await table.query().where(`file_id = ${sqlString(fileId)}`).select(['id', 'chunk_index']).limit(1_000_000).toArray();
      return rows.map((row) => ({ id: String(row.id), chunkIndex: Number(row.chunk_index) }));
    } finally {
      table.close();
    }
  } finally {
    db.close();
  }
}

/** Rows whose id or chunk index appears more than once (an ingestion that wrote a batch twice). */
export function duplicatesIn(rows: IndexedRow[]): string[] {
  const seen = new Set<string>();
  const repeated: string[] = [];
  for (const row of rows) {
    for (const key of [`id:${row.id}`, `index:${row.chunkIndex}`]) {
      if (seen.has(key)) repeated.push(key);
      seen.add(key);
    }
  }
  return repeated;
}
