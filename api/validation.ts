import type { z } from 'zod';
import { ValidationError } from '../shared/errors.ts';

/** Parse route input with zod; the first problem becomes a 400 naming the field. */
export function parseInput<Schema extends z.ZodType>(schema: Schema, value: unknown): z.output<Schema> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
  throw new ValidationError(`${where}${issue.message}`);
}

/** Keys that MongoDB would read as operators or paths; refused wherever user input lands. */
export function findOperatorKey(value: unknown, depth = 0): string | undefined {
  if (depth > 32 || value === null || typeof value !== 'object') return undefined;
  if (Array.isArray(value)) {
    for (const item of value) {
      const found = findOperatorKey(item, depth + 1);
      if (found) return found;
    }
    return undefined;
  }
  for (const [key, child] of Object.entries(value)) {
    if (key.startsWith('$') || key.includes('.')) return key;
    const found = findOperatorKey(child, depth + 1);
    if (found) return found;
  }
  return undefined;
}
