/**
 * Agent versions as LibreChat keeps them (`api/models/Agent.js`): every real update pushes a full snapshot
 * of the agent's editable state, and an update whose result equals the newest snapshot is refused with 409
 * (`isDuplicateVersion`). Only the fields below count: ids, author, timestamps and sharing
 * (`projectIds`, `is_promoted`) are not part of what a version is.
 */
export const VERSIONED_FIELDS = [
  'name',
  'description',
  'instructions',
  'avatar',
  'provider',
  'model',
  'model_parameters',
  'artifacts',
  'recursion_limit',
  'tools',
  'tool_kwargs',
  'actions',
  'hide_sequential_outputs',
  'end_after_tools',
  'agent_ids',
  'isCollaborative',
  'conversation_starters',
  'tool_resources',
  'category',
  'support_contact',
] as const;
export type VersionedField = (typeof VERSIONED_FIELDS)[number];
export type AgentState = Partial<Record<VersionedField, unknown>>;

/** Order does not matter for these (LibreChat sorts every array; durachat keeps `agent_ids` ordered: it is a chain). */
const SET_FIELDS = new Set<VersionedField>(['tools', 'actions']);

/** Absent, null, '', false, [] and {} all mean "not set", as LibreChat's falsy-equals-falsy comparison. */
function isEmpty(value: unknown): boolean {
  if (value === undefined || value === null || value === '' || value === false) return true;
  if (Array.isArray(value)) return value.length === 0;
  if (typeof value === 'object' && !(value instanceof Date)) return Object.values(value as object).every(isEmpty);
  return false;
}

/** A stable text for a value: object keys sorted, empty members dropped, ObjectIds and Dates as strings. */
function canonical(value: unknown): string {
  if (isEmpty(value)) return '';
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value instanceof Date) return JSON.stringify(value.toISOString());
  if (typeof value === 'object' && value !== null) {
    if (typeof (value as { toHexString?: unknown }).toHexString === 'function') return JSON.stringify(String(value));
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, member]) => !isEmpty(member))
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([key, member]) => `${JSON.stringify(key)}:${canonical(member)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

function fieldText(field: VersionedField, value: unknown): string {
  if (SET_FIELDS.has(field) && Array.isArray(value)) return canonical([...new Set(value.map(String))].sort());
  return canonical(value);
}

/** The editable state of a stored agent or version. */
export function versionedState(document: Record<string, unknown>): AgentState {
  const state: AgentState = {};
  for (const field of VERSIONED_FIELDS) if (document[field] !== undefined) state[field] = document[field];
  return state;
}

export function sameState(a: AgentState, b: AgentState): boolean {
  return VERSIONED_FIELDS.every((field) => fieldText(field, a[field]) === fieldText(field, b[field]));
}

/**
 * The `$set`/`$unset` that make a stored agent's editable state equal `state` (a revert): fields the version
 * lacks are removed, not left at their newer values.
 */
export function stateUpdate(state: AgentState): { $set: Record<string, unknown>; $unset: Record<string, ''> } {
  const $set: Record<string, unknown> = {};
  const $unset: Record<string, ''> = {};
  for (const field of VERSIONED_FIELDS) {
    const value = state[field];
    if (value === undefined || value === null) {
      // provider and model are required: a version always has them, never unset them.
      if (field !== 'provider' && field !== 'model') $unset[field] = '';
    } else $set[field] = value;
  }
  return { $set, $unset };
}
