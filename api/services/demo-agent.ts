import { Types } from 'mongoose';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { insertIfAbsent } from '../../shared/insert-if-absent.ts';
import { AclEntry, PermissionBits } from '../../shared/models/acl-entry.ts';
import { Agent } from '../../shared/models/agent.ts';

export const DEMO_AGENT_ID = 'agent_durachat_demo';
const DEMO_MCP_SERVER = 'durachat-tools';
/** The demo agent's author: no user; nobody is its author, so nobody can edit or delete it but an ADMIN. */
const SYSTEM_AUTHOR = '000000000000000000000000';

/**
 * A tool-using agent every user sees on first start, with no key: the keyless demo endpoint with the
 * built-in tools and, when the YAML has it, the bundled durachat-tools MCP server. Inserted once (a fixed
 * id; several API processes may race, one wins), shared with everyone read-only. Not made when the demo
 * endpoint is not configured or DEMO_AGENT=false (a deleted demo agent comes back at the next start
 * unless that is set).
 */
export async function ensureDemoAgent(endpoints: EndpointsConfig): Promise<'created' | 'present' | 'skipped'> {
  const demo = endpoints.endpoints.find((endpoint) => endpoint.name === 'demo');
  if (!demo) return 'skipped';
  const tools = ['calculator', 'current_datetime', ...(endpoints.mcpServers[DEMO_MCP_SERVER] ? [`sys__all__sys_mcp_${DEMO_MCP_SERVER}`] : [])];
  const _id = new Types.ObjectId();
  const state = {
    name: 'Demo agent',
    description: 'Calls tools with no API key: try "what is 12 * (3 + 4)?", "what time is it?" or "count the words: to be or not to be".',
    instructions: 'You are a helpful assistant. Use the calculator for arithmetic, current_datetime for the time and date, and the durachat-tools MCP tools when asked to count words, echo text or count slowly.',
    provider: demo.name,
    model: demo.models[0]!,
    model_parameters: {},
    tools,
    category: 'general',
    conversation_starters: ['What is 12 * (3 + 4)?', 'What time is it in Tokyo?', 'Count the words: to be or not to be', 'Count slowly'],
  };
  const now = new Date();
  const inserted = await insertIfAbsent(Agent, { _id, id: DEMO_AGENT_ID, ...state, author: SYSTEM_AUTHOR, authorName: 'durachat', versions: [{ ...state, createdAt: now, updatedAt: now }] });
  if (!inserted) return 'present';
  await AclEntry.create({ principalType: 'public', resourceType: 'agent', resourceId: _id, permBits: PermissionBits.VIEW, accessRoleId: 'agent_viewer', grantedBy: SYSTEM_AUTHOR });
  return 'created';
}
