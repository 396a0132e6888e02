import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { authenticatedUser } from '../plugins/authenticate.ts';
import type { UserPluginService } from '../services/user-plugin-service.ts';
import { parseInput } from '../validation.ts';

const updateBody = z.object({
  pluginKey: z.string().min(1).max(200),
  action: z.enum(['install', 'uninstall']),
  // Values are never echoed in an error message.
  auth: z.record(z.string().min(1).max(100), z.string().max(10_000, 'values must be at most 10000 characters')).optional(),
});

/** LibreChat's `POST /api/user/plugins`: a user's values for an MCP server's customUserVars (`pluginKey: mcp_<server>`). */
export async function userPluginRoutes(app: FastifyInstance, options: { userPlugins: UserPluginService }) {
  app.post('/api/user/plugins', { preHandler: app.requireJwt }, async (request, reply) => {
    const body = parseInput(updateBody, request.body);
    await options.userPlugins.update(authenticatedUser(request).id, body);
    // LibreChat answers an empty 200.
    return reply.status(200).send();
  });
}
