import type { RunnableTool, ToolResult } from '../tool-types.ts';

/**
 * The `current_datetime` tool: models do not know what day it is. Reads the real clock, which activities may
 * (workflows may not); the clock is a parameter only so tests can pin an instant.
 */
export function createCurrentDatetimeCall(now: () => Date = () => new Date()): RunnableTool['call'] {
  return async (args) => describeCurrentDatetime(args?.timezone, now());
}

export function describeCurrentDatetime(timezone: unknown, instant: Date): ToolResult {
  if (timezone !== undefined && timezone !== null && typeof timezone !== 'string') {
    return { output: 'Error: "timezone" must be a string naming an IANA time zone, e.g. "Europe/Paris"', isError: true };
  }
  const zone = timezone?.trim() || 'UTC';
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat('en-US', {
      timeZone: zone,
      // h23, not hour12: false, which prints midnight as 24:00 in some ICU versions.
      hourCycle: 'h23',
      weekday: 'long',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
  } catch {
    return {
      output: `Error: unknown time zone ${JSON.stringify(zone)}; use an IANA name such as "UTC", "Europe/Paris" or "America/New_York"`,
      isError: true,
    };
  }
  const parts = Object.fromEntries(format.formatToParts(instant).map((part) => [part.type, part.value]));
  // longOffset prints "GMT+05:30", or bare "GMT" for a zero offset.
  const offset = parts.timeZoneName === 'GMT' ? '+00:00' : (parts.timeZoneName ?? '').replace(/^GMT/, '');
  // The name as asked ("Asia/Kolkata"), not ICU's canonical alias ("Asia/Calcutta"), unless only the case differs.
  const resolvedZone = format.resolvedOptions().timeZone;
  const zoneName = resolvedZone.toLowerCase() === zone.toLowerCase() ? resolvedZone : zone;
  const localTime = `${parts.year}-${parts.month}-${parts.day}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
  return {
    output: [
      `UTC time: ${instant.toISOString()}`,
      `Local time (${zoneName}): ${localTime}`,
      `Weekday (${zoneName}): ${parts.weekday}`,
      `Unix time: ${Math.floor(instant.getTime() / 1000)} seconds`,
    ].join('\n'),
    isError: false,
  };
}
