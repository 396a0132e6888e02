import type { SearchEngine } from '../../activities/search/search-engine.ts';
import { UnavailableError, ValidationError } from '../../shared/errors.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import { Conversation, Message } from '../../shared/models/index.ts';
import { publicDocument } from '../../shared/public-document.ts';

type LeanConversation = Record<string, unknown> & { conversationId: string; title?: string; endpoint?: string; model?: string; iconURL?: string };
type LeanMessage = Record<string, unknown> & { messageId: string; conversationId: string };

/** How long `/api/search/enable`'s health answer is reused: the client asks on every page load. */
const HEALTH_CACHE_MS = 5_000;

export interface ConversationSearchInput {
  search: string;
  limit: number;
  cursor?: string;
  isArchived: boolean;
  tags?: string[];
}

/**
 * Search as LibreChat's client calls it (LIBRECHAT-API.md §5), over the engine the indexing workflows keep
 * in step with the database. Every hit is read back from the database with the caller's id in the filter:
 * results only ever come from the caller's own, still existing data, whatever the index holds (a document
 * deleted a moment ago and not yet removed from the index is simply not found in the database).
 *
 * Without an engine the search branches answer 400 ("not enabled"), never a database scan: the client
 * only sends `search=` after `/api/search/enable` said true, so a 400 means a misconfigured deployment or a
 * hand-made request, and the message says which.
 */
export function createSearchService(deps: { engine?: SearchEngine; log?: { warn: (object: object, message: string) => void } }) {
  const { engine } = deps;
  let health: { at: number; healthy: Promise<boolean> } | undefined;

  function requireEngine(): SearchEngine {
    if (!engine) throw new ValidationError('search: search is not enabled on this server (GET /api/search/enable answers false)');
    return engine;
  }

  /** An engine that fails a query (down, timing out) is a 503: the rest of the API keeps working. */
  async function query<T>(run: () => Promise<T>): Promise<T> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof ValidationError) throw error;
      deps.log?.warn({ err: error }, 'search engine query failed');
      throw new UnavailableError('Search is unavailable right now; try again shortly');
    }
  }

  return {
    /** An engine is configured (healthy or not): the admin routes exist. */
    configured: Boolean(engine),

    async enabled(): Promise<boolean> {
      if (!engine) return false;
      if (!health || Date.now() - health.at > HEALTH_CACHE_MS) health = { at: Date.now(), healthy: engine.healthy().catch(() => false) };
      return health.healthy;
    },

    /** `GET /api/convos?search=`: the engine's ranking, then only the caller's existing conversations in the list's filters. */
    async conversations(userId: string, input: ConversationSearchInput) {
      const active = requireEngine();
      const page = await query(() => active.searchConversations({ user: userId, text: input.search, limit: input.limit, cursor: input.cursor }));
      const ids = page.hits.map((hit) => hit.conversationId);
      const filter: Record<string, unknown> = { user: userId, isArchived: input.isArchived ? true : { $ne: true } };
      if (input.tags?.length) filter.tags = { $in: input.tags };
      // By id, not `conversationId: {$in}`: FerretDB would read every conversation of the user (find-each-id.ts).
      const found = await findEachId(ids, (conversationId) => Conversation.find({ ...filter, conversationId }).lean<LeanConversation[]>());
      const byId = new Map(found.map((conversation) => [conversation.conversationId, conversation]));
      return {
        conversations: ids.flatMap((id) => (byId.has(id) ? [publicDocument(byId.get(id)!)] : [])),
        nextCursor: page.nextCursor ?? null,
      };
    },

    /**
     * `GET /api/messages?search=`: matching messages, best first, each with its conversation's title (and
     * LibreChat's extra fields), only those whose conversation still exists.
     */
    async messages(userId: string, input: { search: string; limit: number; cursor?: string }) {
      const active = requireEngine();
      const page = await query(() => active.searchMessages({ user: userId, text: input.search, limit: input.limit, cursor: input.cursor }));
      if (page.hits.length === 0) return { messages: [], nextCursor: page.nextCursor ?? null };
      const [messages, conversations] = await Promise.all([
        // By id: `$in` read every message of the user on FerretDB (shared/find-each-id.ts).
        findEachId(page.hits.map((hit) => hit.messageId), (messageId) => Message.find({ user: userId, messageId }).lean<LeanMessage[]>()),
        findEachId(page.hits.map((hit) => hit.conversationId), (conversationId) => Conversation.find({ user: userId, conversationId }, { conversationId: 1, title: 1, endpoint: 1, model: 1, iconURL: 1 }).lean<LeanConversation[]>()),
      ]);
      const messageById = new Map(messages.map((message) => [message.messageId, message]));
      const conversationById = new Map(conversations.map((conversation) => [conversation.conversationId, conversation]));
      const results = page.hits.flatMap((hit) => {
        const message = messageById.get(hit.messageId);
        const conversation = message && conversationById.get(message.conversationId);
        if (!message || !conversation) return [];
        return [
          {
            ...publicDocument(message),
            title: conversation.title ?? 'New Chat',
            model: message.model ?? conversation.model,
            isCreatedByUser: Boolean(message.isCreatedByUser),
            endpoint: message.endpoint ?? conversation.endpoint,
            iconURL: message.iconURL ?? conversation.iconURL,
          },
        ];
      });
      return { messages: results, nextCursor: page.nextCursor ?? null };
    },
  };
}
export type SearchService = ReturnType<typeof createSearchService>;
