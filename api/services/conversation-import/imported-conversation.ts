import type { TreeMessage } from '../message-tree.ts';

/** One conversation read from an export, before it is given an endpoint the deployment has and new ids. */
export interface ImportedConversation {
  title: string;
  createdAt: Date;
  /** What the export says about endpoint, model and preset fields. */
  settings: Record<string, unknown>;
  /** Old ids and parent links; `saveNewConversation` gives them new ones. */
  messages: TreeMessage[];
}

/** A date from an export, or the fallback when it has none or a nonsense one. */
export function exportDate(value: unknown, fallback: Date): Date {
  if (typeof value !== 'string' && typeof value !== 'number') return fallback;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? fallback : date;
}
