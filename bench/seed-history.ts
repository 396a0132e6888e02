import { randomUUID } from 'node:crypto';
import mongoose from 'mongoose';

const MESSAGES_PER_CONVERSATION = 10;
export const replyText = 'a reply of about a kilobyte and a half, as a model writes them. '.repeat(24);

/**
 * `--history N` (chat-bench.ts): N messages in conversations of ten, written straight into the bench's database
 * before the measured phases, half of them the bench user's own and half spread over 19 other users: a stack
 * that has been in use, where any read FerretDB cannot serve from an index (bench/README.md, "FerretDB
 * lookups") costs in proportion to the data. Returns the seconds it took.
 */
export async function seedHistory(mongoUri: string, messages: number): Promise<number> {
  const started = performance.now();
  const connection = await mongoose.createConnection(mongoUri).asPromise();
  try {
    const benchUser = await connection.collection('users').findOne({}, { projection: { _id: 1 } });
    if (!benchUser) throw new Error('seedHistory: the bench user is not in the database yet');
    const others = Array.from({ length: 19 }, () => new mongoose.Types.ObjectId().toString());
    const userOf = (conversation: number) => (conversation % 2 === 0 ? String(benchUser._id) : others[conversation % others.length]!);
    for (let first = 0; first < messages; first += 1000) {
      const count = Math.min(1000, messages - first);
      const at = new Date(Date.now() - 86_400_000);
      const conversations = new Map<number, string>();
      const documents = Array.from({ length: count }, (_, offset) => {
        const index = first + offset;
        const conversation = Math.floor(index / MESSAGES_PER_CONVERSATION);
        if (!conversations.has(conversation)) conversations.set(conversation, randomUUID());
        const isCreatedByUser = index % 2 === 0;
        return { messageId: randomUUID(), conversationId: conversations.get(conversation)!, user: userOf(conversation), sender: isCreatedByUser ? 'User' : 'Demo', text: isCreatedByUser ? 'a question of a line or two' : replyText, isCreatedByUser, createdAt: at, updatedAt: at };
      });
      await connection.collection('messages').insertMany(documents);
      await connection.collection('conversations').insertMany(
        [...conversations].map(([conversation, conversationId]) => ({ conversationId, user: userOf(conversation), title: `history ${conversation}`, endpoint: 'demo', model: 'demo-fast', isArchived: false, createdAt: at, updatedAt: at })),
      );
    }
  } finally {
    await connection.close();
  }
  return (performance.now() - started) / 1000;
}
