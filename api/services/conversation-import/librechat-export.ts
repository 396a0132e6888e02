import { z } from 'zod';
import { ROOT_PARENT_MESSAGE_ID } from '../../../shared/models/index.ts';
import type { TreeMessage } from '../message-tree.ts';
import { exportDate, type ImportedConversation } from './imported-conversation.ts';

const messageSchema: z.ZodType<Record<string, unknown> & { messageId: string; children?: unknown[] }> = z.looseObject({
  messageId: z.string().min(1).max(200),
  parentMessageId: z.string().max(200).nullish(),
  text: z.string().nullish(),
  content: z.array(z.unknown()).nullish(),
  isCreatedByUser: z.boolean().optional(),
  children: z.array(z.lazy(() => messageSchema)).optional(),
});

/** LibreChat's "Export" (JSON): flat `messages` with parent links, or a `recursive` tree of `children`. */
export const libreChatExportSchema = z.looseObject({
  conversationId: z.string().min(1),
  title: z.string().nullish(),
  endpoint: z.string().nullish(),
  recursive: z.boolean().optional(),
  options: z.looseObject({}).nullish(),
  messages: z.array(messageSchema).optional(),
  messagesTree: z.array(messageSchema).optional(),
});

export function isLibreChatExport(json: unknown): boolean {
  return !!json && typeof json === 'object' && !Array.isArray(json) && 'conversationId' in json && ('messages' in json || 'messagesTree' in json);
}

export function readLibreChatExport(json: z.infer<typeof libreChatExportSchema>, now: Date): ImportedConversation[] {
  const listed = json.messagesTree ?? json.messages ?? [];
  const messages: TreeMessage[] = [];
  if (json.recursive) {
    // Depth first without recursion: an export's depth is the conversation's length.
    const stack = listed.map((message) => ({ message, parentMessageId: ROOT_PARENT_MESSAGE_ID })).reverse();
    while (stack.length > 0) {
      const { message, parentMessageId } = stack.pop()!;
      const { children, ...fields } = message;
      // LibreChat skips empty nodes in a tree export, and their children with them.
      if (!fields.text && !fields.content) continue;
      messages.push({ ...fields, parentMessageId, isCreatedByUser: fields.isCreatedByUser === true, text: fields.text ?? '' } as TreeMessage);
      for (const child of [...((children as typeof listed | undefined) ?? [])].reverse()) stack.push({ message: child, parentMessageId: message.messageId });
    }
  } else {
    for (const { children: _children, ...fields } of listed) {
      messages.push({ ...fields, isCreatedByUser: fields.isCreatedByUser === true, text: fields.text ?? '' } as TreeMessage);
    }
  }
  const firstDate = messages.find((message) => message.createdAt)?.createdAt;
  return [
    {
      title: json.title || 'Imported Chat',
      createdAt: exportDate(firstDate, now),
      settings: { ...(json.options ?? {}), endpoint: json.endpoint ?? json.options?.endpoint },
      messages,
    },
  ];
}
