/**
 * The built-in tools, as the API lists them and agents store them (LibreChat's TPlugin shape, trimmed):
 * `pluginKey` is the tool key an agent keeps in `tools` and the name the model calls; `name` is only for
 * display. The worker builds its runnable tools from this same list (activities/tools/builtin/index.ts),
 * so what the API offers and what the worker can run never drift apart. No Node I/O here: the API imports it.
 */
export interface BuiltinToolManifestEntry {
  pluginKey: string;
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export const BUILTIN_TOOLS: BuiltinToolManifestEntry[] = [
  {
    // The same key as LibreChat's manifest, so agents created there keep working here.
    pluginKey: 'calculator',
    name: 'Calculator',
    description:
      'Evaluates an arithmetic expression exactly and returns the number. Supports + - * / % ^ (power), ' +
      'parentheses, unary minus, the constants pi and e, and the functions sqrt, abs, round, floor, ceil, ' +
      'ln, log (base 10), log2, exp, sin, cos, tan, asin, acos, atan (radians), min and max. ' +
      'Use it for any calculation instead of doing arithmetic in your head.',
    parameters: {
      type: 'object',
      properties: {
        input: { type: 'string', description: 'The expression, e.g. "(2 + 3) * sqrt(16) / 2^3".' },
      },
      required: ['input'],
      additionalProperties: false,
    },
  },
  {
    pluginKey: 'current_datetime',
    name: 'Current date and time',
    description:
      'Returns the current date and time: the UTC time (ISO 8601), the local time and weekday in a time zone, ' +
      'and the Unix time in seconds. Use it whenever the answer depends on today\'s date or the time now.',
    parameters: {
      type: 'object',
      properties: {
        timezone: {
          type: 'string',
          description: 'An IANA time zone such as "Europe/Paris" or "America/New_York"; UTC when omitted.',
        },
      },
      additionalProperties: false,
    },
  },
];
