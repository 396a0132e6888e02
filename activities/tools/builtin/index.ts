import { BUILTIN_TOOLS } from '../../../shared/builtin-tools.ts';
import type { RunnableTool } from '../tool-types.ts';
import { calculate } from './calculator.ts';
import { createCurrentDatetimeCall } from './current-datetime.ts';

const CALLS: Record<string, RunnableTool['call']> = {
  calculator: calculate,
  current_datetime: createCurrentDatetimeCall(),
};

/**
 * The built-in tools keyed by pluginKey. Definitions come from the manifest the API lists, and the model sees
 * the pluginKey as the tool name (the display name is for people).
 */
export function createBuiltinTools(): Map<string, RunnableTool> {
  return new Map(
    BUILTIN_TOOLS.map((entry) => {
      const call = CALLS[entry.pluginKey];
      // A manifest entry without an implementation is a programming error: fail when the worker starts.
      if (!call) throw new Error(`built-in tool ${entry.pluginKey} is listed in shared/builtin-tools.ts but has no implementation`);
      const tool: RunnableTool = { definition: { name: entry.pluginKey, description: entry.description, parameters: entry.parameters }, call };
      return [entry.pluginKey, tool];
    }),
  );
}
