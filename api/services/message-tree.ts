import { randomUUID } from 'node:crypto';
import { ROOT_PARENT_MESSAGE_ID } from '../../shared/models/index.ts';

/**
 * Pure functions over a conversation's message tree (links by `parentMessageId`), as LibreChat's
 * `api/server/utils/import/fork.js` selects and clones branches. Every walk guards against cycles, since
 * imported files may contain them.
 */
export interface TreeMessage {
  messageId: string;
  parentMessageId?: string | null;
  createdAt?: Date | string | number | null;
  [field: string]: unknown;
}

export type ForkOption = 'directPath' | 'includeBranches' | 'targetLevel';

const parentOf = (message: TreeMessage) => message.parentMessageId || ROOT_PARENT_MESSAGE_ID;

function childrenByParent<Message extends TreeMessage>(messages: Message[]) {
  const children = new Map<string, Message[]>();
  for (const message of messages) {
    const siblings = children.get(parentOf(message)) ?? [];
    siblings.push(message);
    children.set(parentOf(message), siblings);
  }
  return children;
}

/** Messages whose parent is absent from the list (or the nil id) are roots. */
function roots<Message extends TreeMessage>(messages: Message[]) {
  const ids = new Set(messages.map((message) => message.messageId));
  return messages.filter((message) => !ids.has(parentOf(message)));
}

/** The target and its ancestors, root first (LibreChat's `getMessagesForConversation`). */
export function directPath<Message extends TreeMessage>(messages: Message[], targetId: string): Message[] {
  const byId = new Map(messages.map((message) => [message.messageId, message]));
  const path: Message[] = [];
  const seen = new Set<string>();
  let current = byId.get(targetId);
  while (current && !seen.has(current.messageId)) {
    seen.add(current.messageId);
    path.unshift(current);
    current = byId.get(parentOf(current));
  }
  return path;
}

/** The direct path plus every sibling along it (each path message's other children), not the target's children. */
export function pathWithBranches<Message extends TreeMessage>(messages: Message[], targetId: string): Message[] {
  const path = new Set(directPath(messages, targetId).map((message) => message.messageId));
  if (path.size === 0) return [];
  return messages.filter((message) => path.has(message.messageId) || (path.has(parentOf(message)) && parentOf(message) !== targetId));
}

/** Depth of every message from the roots (0), breadth first. */
function levels<Message extends TreeMessage>(messages: Message[]) {
  const children = childrenByParent(messages);
  const level = new Map<string, number>();
  let current = roots(messages);
  let depth = 0;
  while (current.length > 0) {
    const next: Message[] = [];
    for (const message of current) {
      if (level.has(message.messageId)) continue;
      level.set(message.messageId, depth);
      next.push(...(children.get(message.messageId) ?? []));
    }
    current = next;
    depth += 1;
  }
  return level;
}

/** Every message on the target's level and above, whatever its branch (LibreChat's default fork option). */
export function upToTargetLevel<Message extends TreeMessage>(messages: Message[], targetId: string): Message[] {
  const level = levels(messages);
  const targetLevel = level.get(targetId);
  if (targetLevel === undefined) return [];
  return messages.filter((message) => (level.get(message.messageId) ?? Infinity) <= targetLevel);
}

/** The target's level and everything below it; that level becomes the new roots (`splitAtTarget`). */
export function splitAtTargetLevel<Message extends TreeMessage>(messages: Message[], targetId: string): Message[] {
  const level = levels(messages);
  const targetLevel = level.get(targetId);
  if (targetLevel === undefined) return [];
  return messages
    .filter((message) => (level.get(message.messageId) ?? -1) >= targetLevel)
    .map((message) => (level.get(message.messageId) === targetLevel ? { ...message, parentMessageId: ROOT_PARENT_MESSAGE_ID } : message));
}

export function selectBranch<Message extends TreeMessage>(messages: Message[], targetId: string, option: ForkOption): Message[] {
  if (option === 'directPath') return directPath(messages, targetId);
  if (option === 'includeBranches') return pathWithBranches(messages, targetId);
  return upToTargetLevel(messages, targetId);
}

const toDate = (value: TreeMessage['createdAt'], fallback: Date) => {
  const date = value === null || value === undefined ? fallback : new Date(value);
  return Number.isNaN(date.getTime()) ? fallback : date;
};

/**
 * New ids for every message, parents remapped, parents always before their children, and each child
 * created at least 1 ms after its parent (the client sorts by `createdAt` to rebuild the tree). A parent
 * outside the set makes the message a root; a cycle is broken where it is found.
 */
export function cloneTree<Message extends TreeMessage>(messages: Message[], now = new Date()): Array<Message & { messageId: string; parentMessageId: string; createdAt: Date }> {
  const children = childrenByParent(messages);
  const newIds = new Map(messages.map((message) => [message.messageId, randomUUID()]));
  const cloned: Array<Message & { messageId: string; parentMessageId: string; createdAt: Date }> = [];
  const done = new Set<string>();
  const visit = (start: Message, parentId: string, parentCreatedAt: Date | undefined) => {
    const stack: Array<[Message, string, Date | undefined]> = [[start, parentId, parentCreatedAt]];
    while (stack.length > 0) {
      const [message, newParentId, parentDate] = stack.pop()!;
      if (done.has(message.messageId)) continue;
      done.add(message.messageId);
      let createdAt = toDate(message.createdAt, now);
      if (parentDate && createdAt <= parentDate) createdAt = new Date(parentDate.getTime() + 1);
      const messageId = newIds.get(message.messageId)!;
      cloned.push({ ...message, messageId, parentMessageId: newParentId, createdAt });
      for (const child of [...(children.get(message.messageId) ?? [])].reverse()) stack.push([child, messageId, createdAt]);
    }
  };
  for (const root of roots(messages)) visit(root, ROOT_PARENT_MESSAGE_ID, undefined);
  // Whatever is left sits on a cycle with no way in from a root: cut it at the first message met.
  for (const message of messages) if (!done.has(message.messageId)) visit(message, ROOT_PARENT_MESSAGE_ID, undefined);
  return cloned;
}
