import { ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';

type ThreadMessage = { messageId: string; parentMessageId?: string };

/**
 * LibreChat's `getMessagesUpToTarget` for a link shared at one message: every message of the tree, level
 * by level from the roots, down to and including the target's level. A target that is not in the list
 * shares everything (LibreChat's fallback for links older than the message).
 */
export function threadUpTo<Message extends ThreadMessage>(messages: Message[], targetMessageId: string): Message[] {
  if (!messages.some((message) => message.messageId === targetMessageId)) return messages;
  const children = new Map<string, Message[]>();
  for (const message of messages) {
    const parent = message.parentMessageId || ROOT_PARENT_MESSAGE_ID;
    children.set(parent, [...(children.get(parent) ?? []), message]);
  }
  const included = new Set<Message>();
  const visited = new Set<string>();
  let level = children.get(ROOT_PARENT_MESSAGE_ID) ?? messages.filter((message) => message.messageId === targetMessageId);
  while (level.length > 0) {
    for (const message of level) included.add(message);
    if (level.some((message) => message.messageId === targetMessageId)) break;
    const next: Message[] = [];
    for (const message of level) {
      if (visited.has(message.messageId)) continue;
      visited.add(message.messageId);
      next.push(...(children.get(message.messageId) ?? []).filter((child) => !visited.has(child.messageId)));
    }
    level = next;
  }
  // Keep the stored order (oldest first), which the client's tree building expects.
  return messages.filter((message) => included.has(message));
}
