import type { ToolDefinition } from '../providers/provider.ts';
import { MCP_DELIMITER, ToolUnavailableError, type RunnableTool } from './tool-types.ts';

/** What an MCP pool offers the toolbox (activities/tools/mcp/). */
export interface McpToolSource {
  tools(userId: string, serverNames?: string[]): Promise<RunnableTool[]>;
  /** `serverInstructions` of these servers, by server (for the system prompt). */
  instructions?(userId: string, serverNames: string[]): Promise<Record<string, string>>;
}

export interface Toolbox {
  /** The definitions offered to the model for an agent's tool keys (tools that cannot be reached now are left out). */
  definitions(userId: string, allowed: string[]): Promise<ToolDefinition[]>;
  /** The tool a model's call names, if the agent has it; throws ToolUnavailableError when its server cannot be reached. */
  find(userId: string, allowed: string[], name: string): Promise<RunnableTool | undefined>;
  /** What the agent's MCP servers ask to be told to the model (`serverInstructions`), as system text. */
  instructions(userId: string, allowed: string[]): Promise<string | undefined>;
}

const ALL_TOOLS_OF_SERVER = `sys__all__sys${MCP_DELIMITER}`;

/** The MCP servers an agent's tool keys reach, and whether each is wanted whole (`sys__all__sys_mcp_<server>`). */
function mcpServersOf(allowed: string[]): Map<string, { all: boolean; names: Set<string> }> {
  const servers = new Map<string, { all: boolean; names: Set<string> }>();
  for (const key of allowed) {
    const at = key.lastIndexOf(MCP_DELIMITER);
    if (at < 0) continue;
    const server = key.slice(at + MCP_DELIMITER.length);
    const entry = servers.get(server) ?? { all: false, names: new Set<string>() };
    if (key.startsWith(ALL_TOOLS_OF_SERVER)) entry.all = true;
    else entry.names.add(key);
    servers.set(server, entry);
  }
  return servers;
}

/**
 * Resolves an agent's tool keys to runnable tools: built-in tools by key, MCP tools from the worker's
 * pool. The agent's list is the authority: a model asking for a tool the agent was not given gets none.
 */
export function createToolbox(options: { builtins: Map<string, RunnableTool>; mcp?: McpToolSource; log?: { warn: (message: string, meta?: Record<string, unknown>) => void } }): Toolbox {
  async function mcpTools(userId: string, allowed: string[], strict: boolean): Promise<RunnableTool[]> {
    const servers = mcpServersOf(allowed);
    if (servers.size === 0 || !options.mcp) return [];
    const found: RunnableTool[] = [];
    for (const [server, wanted] of servers) {
      let tools: RunnableTool[];
      try {
        tools = await options.mcp.tools(userId, [server]);
      } catch (error) {
        if (strict) throw error instanceof ToolUnavailableError ? error : new ToolUnavailableError(`MCP server ${server} cannot be reached: ${(error as Error).message}`);
        options.log?.warn('MCP server unavailable; its tools are not offered this step', { server, error: (error as Error).message });
        continue;
      }
      found.push(...tools.filter((tool) => wanted.all || wanted.names.has(tool.definition.name)));
    }
    return found;
  }

  return {
    async definitions(userId, allowed) {
      const builtins = allowed.map((key) => options.builtins.get(key)).filter((tool): tool is RunnableTool => tool !== undefined);
      const fromMcp = await mcpTools(userId, allowed, false);
      const seen = new Set<string>();
      return [...builtins, ...fromMcp]
        .map((tool) => tool.definition)
        .filter((definition) => !seen.has(definition.name) && seen.add(definition.name));
    },
    async instructions(userId, allowed) {
      const servers = [...mcpServersOf(allowed).keys()];
      if (servers.length === 0 || !options.mcp?.instructions) return undefined;
      const found = await options.mcp.instructions(userId, servers);
      const texts = Object.entries(found).map(([server, text]) => `Instructions for the tools of MCP server ${server}:\n${text}`);
      return texts.length > 0 ? texts.join('\n\n') : undefined;
    },
    async find(userId, allowed, name) {
      const builtin = options.builtins.get(name);
      if (builtin) return allowed.includes(name) ? builtin : undefined;
      if (!name.includes(MCP_DELIMITER)) return undefined;
      const server = name.slice(name.lastIndexOf(MCP_DELIMITER) + MCP_DELIMITER.length);
      const reachable = allowed.filter((key) => key === name || key === `${ALL_TOOLS_OF_SERVER}${server}`);
      if (reachable.length === 0) return undefined;
      return (await mcpTools(userId, reachable, true)).find((tool) => tool.definition.name === name);
    },
  };
}
