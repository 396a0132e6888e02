import { z } from 'zod';
import type { TreeMessage } from '../message-tree.ts';
import { exportDate, type ImportedConversation } from './imported-conversation.ts';

const nodeMessageSchema = z.looseObject({
  author: z.looseObject({ role: z.string() }),
  create_time: z.number().nullish(),
  content: z.looseObject({ content_type: z.string() }),
  metadata: z.looseObject({ model_slug: z.string().nullish() }).nullish(),
});

/** ChatGPT's `conversations.json`: an array of conversations, each a `mapping` of nodes linked by `parent`. */
export const chatGptExportSchema = z.array(
  z.looseObject({
    title: z.string().nullish(),
    create_time: z.number().nullish(),
    mapping: z.record(
      z.string(),
      z.looseObject({
        message: nodeMessageSchema.nullish(),
        parent: z.string().nullish(),
        children: z.array(z.string()).optional(),
      }),
    ),
  }),
);
type ChatGptConversation = z.infer<typeof chatGptExportSchema>[number];
type ChatGptMessage = z.infer<typeof nodeMessageSchema>;

export function isChatGptExport(json: unknown): boolean {
  return Array.isArray(json) && (json.length === 0 || (typeof json[0] === 'object' && json[0] !== null && 'mapping' in json[0]));
}

/** Nodes the client has no place for: hidden system prompts and reasoning (folded into the reply). */
function isSkipped(message: ChatGptMessage | null | undefined) {
  const type = message?.content.content_type;
  return !message || message.author.role === 'system' || type === 'thoughts' || type === 'reasoning_recap';
}

/** LibreChat's `formatMessageText` (without its citation links). */
function messageText(message: ChatGptMessage): string {
  const content = message.content as Record<string, unknown> & { content_type: string };
  const parts = Array.isArray(content.parts) ? content.parts : undefined;
  if (content.content_type === 'text' && parts) return parts.filter((part) => typeof part === 'string').join(' ');
  if (content.content_type === 'code') return `\`\`\`${String(content.language ?? '')}\n${String(content.text ?? '')}\n\`\`\``;
  if (content.content_type === 'execution_output') return `Execution Output:\n> ${String(content.text ?? '')}`;
  if (parts) {
    const texts = parts.map((part) => (typeof part === 'string' ? part : `\`\`\`json\n${JSON.stringify(part, null, 2)}\n\`\`\``));
    return texts.join(' ').trim();
  }
  return `\`\`\`json\n${JSON.stringify(content, null, 2)}\n\`\`\``;
}

/** Reasoning that ChatGPT stores as `thoughts` nodes above the reply, as a `think` part. */
function thinking(conversation: ChatGptConversation, parentId: string | null | undefined) {
  const seen = new Set<string>();
  while (parentId && !seen.has(parentId)) {
    seen.add(parentId);
    const node = conversation.mapping[parentId];
    const content = node?.message?.content as (Record<string, unknown> & { content_type: string }) | undefined;
    if (content?.content_type === 'thoughts' && Array.isArray(content.thoughts)) {
      const text = content.thoughts
        .map((thought) => (thought && typeof thought === 'object' ? String((thought as Record<string, unknown>).content ?? (thought as Record<string, unknown>).summary ?? '') : ''))
        .filter(Boolean)
        .join('\n\n');
      return text ? [{ type: 'think', think: text }] : [];
    }
    if (content?.content_type !== 'reasoning_recap') return [];
    parentId = node?.parent;
  }
  return [];
}

function readConversation(conversation: ChatGptConversation, now: Date): ImportedConversation {
  const createdAt = typeof conversation.create_time === 'number' ? exportDate(conversation.create_time * 1000, now) : now;
  /** The nearest ancestor that becomes a message (skipped nodes pass their place on to their children). */
  const keptParent = (startId: string | null | undefined): string | undefined => {
    const seen = new Set<string>();
    let id = startId;
    while (id && !seen.has(id)) {
      seen.add(id);
      const node = conversation.mapping[id];
      if (!node) return undefined;
      if (!isSkipped(node.message)) return id;
      id = node.parent;
    }
    return undefined;
  };
  const messages: TreeMessage[] = [];
  for (const [id, node] of Object.entries(conversation.mapping)) {
    const message = node.message;
    if (!message || isSkipped(message)) continue;
    const isCreatedByUser = message.author.role === 'user';
    const model = message.metadata?.model_slug ?? undefined;
    const text = messageText(message);
    const think = isCreatedByUser ? [] : thinking(conversation, node.parent);
    messages.push({
      messageId: id,
      parentMessageId: keptParent(node.parent),
      text,
      isCreatedByUser,
      sender: isCreatedByUser ? 'user' : model ? model.replace(/^gpt-(.+)$/i, 'GPT-$1') : 'assistant',
      ...(isCreatedByUser || !model ? {} : { model }),
      ...(think.length ? { content: [...think, { type: 'text', text }] } : {}),
      createdAt: typeof message.create_time === 'number' ? exportDate(message.create_time * 1000, createdAt) : createdAt,
    });
  }
  const model = [...messages].reverse().find((message) => typeof message.model === 'string')?.model;
  return { title: conversation.title || 'Imported Chat', createdAt, settings: { endpoint: 'openAI', model }, messages };
}

export function readChatGptExport(json: z.infer<typeof chatGptExportSchema>, now: Date): ImportedConversation[] {
  return json.map((conversation) => readConversation(conversation, now));
}
