import { z } from 'zod';
import type { TreeMessage } from '../message-tree.ts';
import { exportDate, type ImportedConversation } from './imported-conversation.ts';

/** Claude's `conversations.json`: an array of conversations, each a straight line of `chat_messages`. */
export const claudeExportSchema = z.array(
  z.looseObject({
    name: z.string().nullish(),
    created_at: z.string().nullish(),
    chat_messages: z.array(
      z.looseObject({
        sender: z.string(),
        text: z.string().nullish(),
        created_at: z.string().nullish(),
        content: z.array(z.looseObject({ type: z.string(), text: z.string().nullish(), thinking: z.string().nullish() })).nullish(),
      }),
    ),
  }),
);

export function isClaudeExport(json: unknown): boolean {
  return Array.isArray(json) && json.length > 0 && typeof json[0] === 'object' && json[0] !== null && 'chat_messages' in json[0];
}

/** LibreChat's Claude importer: text and thinking parts, empty messages skipped, times kept in order. */
export function readClaudeExport(json: z.infer<typeof claudeExportSchema>, now: Date): ImportedConversation[] {
  return json.map((conversation) => {
    const createdAt = exportDate(conversation.created_at, now);
    const messages: TreeMessage[] = [];
    for (const message of conversation.chat_messages) {
      const parts = message.content ?? [];
      const text = parts.filter((part) => part.type === 'text' && part.text).map((part) => part.text).join('') || message.text || '';
      const thinking = parts.filter((part) => part.type === 'thinking' && part.thinking).map((part) => part.thinking).join('');
      if (!text && !thinking) continue;
      const isCreatedByUser = message.sender === 'human';
      messages.push({
        messageId: `m${messages.length}`,
        parentMessageId: messages.at(-1)?.messageId,
        text,
        isCreatedByUser,
        sender: isCreatedByUser ? 'user' : 'Claude',
        ...(thinking && !isCreatedByUser ? { content: [{ type: 'think', think: thinking }, { type: 'text', text }] } : {}),
        createdAt: exportDate(message.created_at, createdAt),
      });
    }
    return { title: conversation.name || 'Imported Claude Chat', createdAt, settings: { endpoint: 'anthropic' }, messages };
  });
}
