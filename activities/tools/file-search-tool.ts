import type { FileSearch } from '../files/index/file-search.ts';
import type { ToolDefinition } from '../providers/provider.ts';
import { File } from '../../shared/models/file.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import type { RunnableTool } from './tool-types.ts';

export const FILE_SEARCH_TOOL = 'file_search';

export const fileSearchDefinition: ToolDefinition = {
  name: FILE_SEARCH_TOOL,
  description: 'Searches the files the user attached (or the agent was given) for passages relevant to a query. Cite the file name and page of what you use.',
  parameters: { type: 'object', properties: { query: { type: 'string', description: 'What to look for, in a few words or a question' } }, required: ['query'] },
};

/** LibreChat's defaults (endpoints.agents maxCitations 30 / maxCitationsPerFile 7): at most this many passages reach the model. */
const MAX_PASSAGES = 10;
const MAX_PER_FILE = 7;

/**
 * The `file_search` tool over a run's files. The files were checked by the API (the user's own, or an agent's
 * the user may use); the index keeps each owner's chunks apart, so each owner's files are searched as that
 * owner. Passages go to the model with their file name and pages, and to the client as LibreChat's
 * `file_search` attachment (sources with relevance).
 */
export function createFileSearchTool(search: FileSearch, fileIds: string[]): RunnableTool {
  return {
    definition: fileSearchDefinition,
    async call(args, context) {
      const query = typeof args.query === 'string' ? args.query.trim().slice(0, 2000) : '';
      if (!query) return { output: 'file_search needs a query.', isError: true };
      // By id (shared/find-each-id.ts: FerretDB reads every ready file for `file_id: {$in}`).
      type Ready = { file_id: string; filename: string; user: unknown };
      const files = await findEachId(fileIds, (file_id) => File.find({ file_id, status: 'ready' }, { file_id: 1, filename: 1, user: 1 }).lean<Ready[]>(), {
        manyIds: (many) => File.find({ file_id: { $in: many }, status: 'ready' }, { file_id: 1, filename: 1, user: 1 }).lean<Ready[]>(),
      });
      if (files.length === 0) return { output: 'None of the attached files is ready to search yet.', isError: false };
      const names = new Map(files.map((file) => [file.file_id, file.filename]));
      const byOwner = new Map<string, string[]>();
      for (const file of files) byOwner.set(String(file.user), [...(byOwner.get(String(file.user)) ?? []), file.file_id]);
      const hits = (await Promise.all([...byOwner].map(([owner, ids]) => search.search({ userId: owner, fileIds: ids, query, k: MAX_PASSAGES }, context.signal)))).flat();
      hits.sort((a, b) => b.score - a.score);
      const perFile = new Map<string, number>();
      const kept = hits.filter((hit) => {
        const count = perFile.get(hit.fileId) ?? 0;
        perFile.set(hit.fileId, count + 1);
        return count < MAX_PER_FILE;
      }).slice(0, MAX_PASSAGES);
      if (kept.length === 0) return { output: `No passage of the attached files matches "${query}".`, isError: false };
      const output = kept
        .map((hit, position) => `[${position + 1}] ${names.get(hit.fileId) ?? hit.fileId}${hit.pages.length ? `, page ${hit.pages.join('-')}` : ''} (relevance ${hit.score.toFixed(2)})\n${hit.text}`)
        .join('\n\n');
      const sources = kept.map((hit) => ({
        type: 'file',
        fileId: hit.fileId,
        fileName: names.get(hit.fileId) ?? hit.fileId,
        content: hit.text,
        relevance: hit.score,
        pages: hit.pages,
        pageRelevance: Object.fromEntries(hit.pages.map((page) => [page, hit.score])),
      }));
      return { output, isError: false, attachment: { type: 'file_search', file_search: { sources } } };
    },
  };
}
