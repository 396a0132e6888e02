import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { ToolResult } from '../tool-types.ts';

/** Decoded size of base64 data, without decoding it. */
function base64Bytes(data: string): number {
  const padding = data.endsWith('==') ? 2 : data.endsWith('=') ? 1 : 0;
  return Math.max(0, Math.floor((data.length * 3) / 4) - padding);
}

type ContentPart = CallToolResult['content'][number];

/** One content part as the model reads it: text as is, binary parts as a short description. */
function describePart(part: ContentPart): string {
  switch (part.type) {
    case 'text':
      return part.text;
    case 'image':
    case 'audio':
      return `[${part.type} ${part.mimeType}, ${base64Bytes(part.data)} bytes]`;
    case 'resource': {
      const { resource } = part;
      // A text resource's text is what the tool answered; only a blob is described.
      if ('text' in resource && typeof resource.text === 'string') return resource.text;
      const blob = 'blob' in resource && typeof resource.blob === 'string' ? `, ${base64Bytes(resource.blob)} bytes` : '';
      return `[resource ${resource.uri}${resource.mimeType ? ` ${resource.mimeType}` : ''}${blob}]`;
    }
    case 'resource_link':
      return `[resource link ${part.uri}${part.name ? ` (${part.name})` : ''}]`;
    default:
      return `[${(part as { type: string }).type} content]`;
  }
}

/** An MCP tool result as the agent loop's ToolResult: parts joined, structured content when there are none. */
export function toToolResult(result: CallToolResult): ToolResult {
  const parts = (result.content ?? []).map(describePart);
  let output = parts.join('\n');
  if (parts.length === 0 && result.structuredContent !== undefined) output = JSON.stringify(result.structuredContent);
  return { output, isError: result.isError === true };
}
