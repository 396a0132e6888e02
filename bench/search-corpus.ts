/**
 * A deterministic chat corpus for the search benchmark (bench/search-bench.ts): users, conversations and
 * messages whose words follow a Zipf distribution over an English-like vocabulary (real common and technical
 * words first, then generated words for the long tail), so some words are in nearly every message ("the"),
 * some in a few percent ("temporal"), and most in a handful.
 *
 * Layout: `users` users, one heavy user holding `heavyShare` of the conversations, the rest spread evenly;
 * conversations alternate user and assistant messages (user messages 5–40 words, replies 30–250).
 */
import type { SearchConversationDocument, SearchMessageDocument } from '../activities/search/search-engine.ts';

/** mulberry32: a small seeded PRNG, so every run indexes the same corpus. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const COMMON = `the to and a of is in you that it for this with on be can are as your if not have or at by from an use
will do we which should so what but more there when then all one like also here need how some these make other
would has each any about its my than into only just first way set file new time get see example data because
function code value run using want may out up change step error case help sure them where could
`.split(/\s+/);

/** Topical words, including the prefix family the benchmark types ("temp", "tempo", "tempor"). */
const TOPICAL = `server request response workflow database query index search message conversation user token model
stream worker queue retry timeout deploy pipeline container cluster network latency memory cache config
temporal template temperature temporary tempo attempt contempt tempest temptation
python javascript typescript rust kubernetes docker postgres redis mongodb linux windows browser api route
schema migration table column transaction commit branch merge review test suite benchmark profile trace
log metric alert dashboard incident outage restart backup restore upload download image audio video text
summary translate email draft letter recipe travel budget invoice contract meeting schedule calendar
garden weather holiday birthday music movie novel poem history science physics chemistry biology
mathematics equation proof theorem lemma graph vector matrix gradient training dataset accuracy loss
`.split(/\s+/).filter(Boolean);

const SYLLABLES = 'ka lo mi ne ru sa te vo zi ba de fi go hu ja ke li mo nu pa qui re si tu va we xa yo zu bri cla dro fle gri plo sta tre'.split(' ');

function generatedWords(count: number, random: () => number): string[] {
  const seen = new Set<string>([...COMMON, ...TOPICAL]);
  const words: string[] = [];
  while (words.length < count) {
    const length = 2 + Math.floor(random() * 3);
    let word = '';
    for (let index = 0; index < length; index += 1) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    if (!seen.has(word)) {
      seen.add(word);
      words.push(word);
    }
  }
  return words;
}

export interface CorpusOptions {
  messages: number;
  conversations: number;
  users: number;
  heavyShare: number;
  /** The heavy user's id (the benchmark logs in as it for the HTTP part); the others are derived. */
  heavyUser: string;
  seed?: number;
}

export interface Corpus {
  users: string[];
  heavyUser: string;
  lightUser: string;
  vocabulary: string[];
  /** Conversations, each with its messages, in order; generated lazily so 100,000 messages never sit in memory at once. */
  conversations(): Generator<{ conversation: SearchConversationDocument; messages: SearchMessageDocument[] }>;
}

export function createCorpus(options: CorpusOptions): Corpus {
  const random = seededRandom(options.seed ?? 12);
  const vocabulary = [...COMMON, ...TOPICAL, ...generatedWords(4_000, random)];
  // Zipf (s = 1): weight of rank r is 1/r; sampled through the cumulative weights.
  const cumulative: number[] = [];
  let total = 0;
  for (let rank = 1; rank <= vocabulary.length; rank += 1) cumulative.push((total += 1 / rank));
  const word = (from = 0) => {
    const low = from === 0 ? 0 : cumulative[from - 1]!;
    const target = low + random() * (total - low);
    let lo = from;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid]! < target) lo = mid + 1;
      else hi = mid;
    }
    return vocabulary[lo]!;
  };
  const sentence = (words: number) => {
    const parts: string[] = [];
    for (let index = 0; index < words; index += 1) parts.push(word());
    // Sentences and punctuation, as chat text has them.
    const text = parts.join(' ').replace(/(\S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+ \S+)/g, '$1.');
    return text.charAt(0).toUpperCase() + text.slice(1);
  };
  const users = [options.heavyUser, ...Array.from({ length: options.users - 1 }, (_, index) => `benchuser${String(index + 1).padStart(18, '0')}`)];
  const heavyConversations = Math.round(options.conversations * options.heavyShare);
  const perConversation = options.messages / options.conversations;
  const base = Date.parse('2026-01-01T00:00:00Z');

  function* conversations() {
    let written = 0;
    for (let index = 0; index < options.conversations; index += 1) {
      const user = index < heavyConversations ? users[0]! : users[1 + ((index - heavyConversations) % (users.length - 1))]!;
      const conversationId = `c${String(index).padStart(8, '0')}-bench`;
      // Spread messages so the totals land exactly on options.messages.
      const count = Math.round((index + 1) * perConversation) - written;
      written += count;
      const updatedAt = new Date(base + index * 60_000).toISOString();
      const titleWords = 3 + Math.floor(random() * 4);
      const title = Array.from({ length: titleWords }, () => word(COMMON.length)).join(' ');
      const messages: SearchMessageDocument[] = [];
      for (let position = 0; position < count; position += 1) {
        const isCreatedByUser = position % 2 === 0;
        const words = isCreatedByUser ? 5 + Math.floor(random() * 36) : 30 + Math.floor(random() * 221);
        messages.push({
          messageId: `${conversationId}-m${String(position).padStart(3, '0')}`,
          conversationId,
          user,
          sender: isCreatedByUser ? 'User' : 'demo-fast',
          text: sentence(words),
          isCreatedByUser,
          updatedAt: new Date(base + index * 60_000 + position * 1000).toISOString(),
        });
      }
      yield { conversation: { conversationId, user, title: title.charAt(0).toUpperCase() + title.slice(1), updatedAt }, messages };
    }
  }

  return { users, heavyUser: users[0]!, lightUser: users[1]!, vocabulary, conversations };
}
