import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { McpDirectoryService } from '../services/mcp-directory-service.ts';
import { parseInput } from '../validation.ts';

const serverParams = z.object({ serverName: z.string().min(1).max(200) });

/**
 * LibreChat's `/api/mcp` routes (without OAuth: durachat's MCP servers take no OAuth). Everything is read from
 * the config and the Redis directory the workers publish; reinitialize asks the workers and waits for them.
 */
export async function mcpRoutes(app: FastifyInstance, options: { directory: McpDirectoryService }) {
  const { directory } = options;
  app.addHook('preHandler', app.requireJwt);

  app.get('/tools', async (request) => directory.tools(authenticatedUser(request).id));

  app.get('/connection/status', async (request) => directory.connectionStatus(authenticatedUser(request).id));

  app.get('/connection/status/:serverName', async (request) => {
    const { serverName } = parseInput(serverParams, request.params);
    return directory.serverStatus(authenticatedUser(request).id, serverName);
  });

  app.post('/:serverName/reinitialize', async (request) => {
    const { serverName } = parseInput(serverParams, request.params);
    const user = authenticatedUser(request);
    return directory.reinitialize(user.id, serverName, { isAdmin: user.role === 'ADMIN' });
  });

  app.get('/:serverName/auth-values', async (request) => {
    const { serverName } = parseInput(serverParams, request.params);
    return directory.authValues(authenticatedUser(request).id, serverName);
  });
}
