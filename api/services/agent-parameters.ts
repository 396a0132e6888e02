import type { ConversationParameters } from '../../shared/chat-run.ts';

const numeric = ['temperature', 'top_p', 'frequency_penalty', 'presence_penalty', 'maxOutputTokens', 'max_tokens', 'maxContextTokens'] as const;

/**
 * An agent's `model_parameters` (any shape the agent builder saved) as the conversation parameters a run
 * takes: only the known numeric settings, in their ranges; anything else is ignored, never passed on.
 */
export function agentParameters(modelParameters: Record<string, unknown> | undefined): ConversationParameters {
  const parameters: Record<string, number> = {};
  for (const key of numeric) {
    const value = modelParameters?.[key];
    if (typeof value === 'number' && Number.isFinite(value)) parameters[key] = value;
  }
  const bounded = (key: string, min: number, max: number) => {
    if (parameters[key] !== undefined && (parameters[key]! < min || parameters[key]! > max)) delete parameters[key];
  };
  bounded('temperature', 0, 2);
  bounded('top_p', 0, 1);
  bounded('frequency_penalty', -2, 2);
  bounded('presence_penalty', -2, 2);
  for (const key of ['maxOutputTokens', 'max_tokens', 'maxContextTokens']) bounded(key, 1, 2_000_000);
  return parameters as ConversationParameters;
}

/** The request's own settings override the agent's, but only those it actually set. */
export function definedOnly(parameters: ConversationParameters): ConversationParameters {
  return Object.fromEntries(Object.entries(parameters).filter(([, value]) => value !== undefined)) as ConversationParameters;
}
