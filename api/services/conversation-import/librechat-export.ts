import { z } from 'zod';
import { ValidationError } from '../../../shared/errors.ts';
import { ROOT_PARENT_MESSAGE_ID } from '../../../shared/models/index.ts';
import type { TreeMessage } from '../message-tree.ts';
import { exportDate, type ImportedConversation } from './imported-conversation.ts';

/**
 * One message of an export; `children` are checked node by node while walking the tree (not by a recursive
 * schema), so a long conversation exported as a deep tree cannot exhaust the stack.
 */
const messageSchema = z.looseObject({
  messageId: z.string().min(1).max(200),
  parentMessageId: z.string().max(200).nullish(),
  text: z.string().nullish(),
  content: z.array(z.unknown()).nullish(),
  sender: z.string().max(200).nullish(),
  isCreatedByUser: z.boolean().nullish(),
  model: z.string().max(200).nullish(),
  unfinished: z.boolean().nullish(),
  error: z.boolean().nullish(),
  finish_reason: z.string().max(100).nullish(),
  tokenCount: z.number().nullish(),
  feedback: z.looseObject({}).nullish(),
  createdAt: z.union([z.string(), z.number()]).nullish(),
  children: z.array(z.unknown()).optional(),
});
type ExportedMessage = z.infer<typeof messageSchema>;

/** LibreChat's "Export" (JSON): flat `messages` with parent links, or a `recursive` tree of `children`. */
export const libreChatExportSchema = z.looseObject({
  conversationId: z.string().min(1),
  title: z.string().nullish(),
  endpoint: z.string().nullish(),
  recursive: z.boolean().optional(),
  options: z.looseObject({}).nullish(),
  messages: z.array(z.unknown()).optional(),
  messagesTree: z.array(z.unknown()).optional(),
});

export function isLibreChatExport(json: unknown): boolean {
  return !!json && typeof json === 'object' && !Array.isArray(json) && 'conversationId' in json && ('messages' in json || 'messagesTree' in json);
}

function parseMessage(value: unknown, path: string): ExportedMessage {
  const result = messageSchema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw new ValidationError(`The file looks like a LibreChat export but is malformed at ${[path, ...issue.path].join('.')}: ${issue.message}`);
}

function toTreeMessage({ children: _children, ...fields }: ExportedMessage, parentMessageId?: string | null): TreeMessage {
  return { ...fields, parentMessageId: parentMessageId ?? fields.parentMessageId, isCreatedByUser: fields.isCreatedByUser === true, text: fields.text ?? '' } as TreeMessage;
}

export function readLibreChatExport(json: z.infer<typeof libreChatExportSchema>, now: Date): ImportedConversation[] {
  const listName = json.messagesTree ? 'messagesTree' : 'messages';
  const listed = json.messagesTree ?? json.messages ?? [];
  const messages: TreeMessage[] = [];
  if (json.recursive) {
    // Depth first, without recursion: an export's depth is the conversation's length.
    const stack = listed.map((value, index) => ({ value, path: `${listName}.${index}`, parentMessageId: ROOT_PARENT_MESSAGE_ID })).reverse();
    while (stack.length > 0) {
      const { value, path, parentMessageId } = stack.pop()!;
      const message = parseMessage(value, path);
      // LibreChat skips empty nodes in a tree export, and their children with them.
      if (!message.text && !message.content) continue;
      messages.push(toTreeMessage(message, parentMessageId));
      const children = message.children ?? [];
      for (let index = children.length - 1; index >= 0; index -= 1) {
        stack.push({ value: children[index], path: `${path}.children.${index}`, parentMessageId: message.messageId });
      }
    }
  } else {
    listed.forEach((value, index) => messages.push(toTreeMessage(parseMessage(value, `${listName}.${index}`))));
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
