import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { BUILTIN_TOOLS } from '../../shared/builtin-tools.ts';
import { NotFoundError } from '../../shared/errors.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { McpDirectoryService } from '../services/mcp-directory-service.ts';
import { parseInput } from '../validation.ts';

const toolParams = z.object({ toolId: z.string().min(1).max(300) });

/**
 * LibreChat's `GET /api/agents/tools` (TPlugin[]): the built-in tools, which need no credentials, and every MCP
 * tool the workers have published, as `<tool>_mcp_<server>`. Registered with prefix `/api/agents/tools`.
 */
export async function agentToolRoutes(app: FastifyInstance, options: { directory: McpDirectoryService }) {
  const { directory } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/', async (request) => {
    const builtin = BUILTIN_TOOLS.map((tool) => ({ name: tool.name, pluginKey: tool.pluginKey, description: tool.description, icon: undefined, authConfig: [], authenticated: true }));
    return [...builtin, ...(await directory.plugins(authenticatedUser(request).id))];
  });

  app.get('/:toolId/auth', async (request) => {
    const { toolId } = parseInput(toolParams, request.params);
    if (BUILTIN_TOOLS.some((tool) => tool.pluginKey === toolId)) return { authenticated: true };
    // Capabilities durachat does not run yet, answered as LibreChat does without them configured (the
    // client asks whatever /api/endpoints says).
    if (toolId === 'web_search') {
      return { authenticated: false, authTypes: [['providers', 'user_provided'], ['scrapers', 'user_provided'], ['rerankers', 'system_defined']] };
    }
    if (toolId === 'execute_code') return { authenticated: true, message: 'system_defined' };
    const mcp = await directory.toolAuth(authenticatedUser(request).id, toolId);
    if (!mcp) throw new NotFoundError('Tool not found');
    return mcp;
  });
}
