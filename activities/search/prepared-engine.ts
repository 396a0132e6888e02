import type { SearchEngine } from './search-engine.ts';

/**
 * The engine, prepared (tables, indexes, settings) before its first write in this process and again after
 * a failed preparation: a worker that started while the engine was down still creates the tables once it
 * is back, instead of failing every batch on a missing table.
 */
export function preparedOnFirstUse(engine: SearchEngine): SearchEngine {
  let prepared: Promise<void> | undefined;
  const ready = () => {
    prepared ??= engine.prepare().catch((error) => {
      prepared = undefined;
      throw error;
    });
    return prepared;
  };
  const after =
    <A extends unknown[], R>(call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      await ready();
      return call(...args);
    };
  return {
    name: engine.name,
    prepare: ready,
    healthy: () => engine.healthy(),
    upsertConversations: after((documents) => engine.upsertConversations(documents)),
    upsertMessages: after((documents) => engine.upsertMessages(documents)),
    deleteConversations: after((ids) => engine.deleteConversations(ids)),
    deleteMessages: after((ids) => engine.deleteMessages(ids)),
    searchConversations: after((query) => engine.searchConversations(query)),
    searchMessages: after((query) => engine.searchMessages(query)),
    listDocuments: after((kind, afterId, limit) => engine.listDocuments(kind, afterId, limit)),
    close: () => engine.close(),
  };
}
