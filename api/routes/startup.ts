import type { FastifyInstance } from 'fastify';
import { DISABLED_BALANCE, publicBalanceConfig, type BalanceConfig } from '../../shared/balance-config.ts';
import type { Config } from '../../shared/config.ts';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { publicMcpServers } from '../../shared/mcp-config.ts';
import { ForbiddenError, NotFoundError, UnauthorizedError } from '../../shared/errors.ts';
import { SystemRoles, User, toPublicUser } from '../../shared/models/index.ts';
import { roleDefinitions } from '../../shared/roles.ts';
import { authenticatedUser } from '../plugins/authenticate.ts';

/** What the web client loads first: startup config, endpoints, models, the user and their role. */

/** Agent capabilities durachat runs today: tools (built-in and MCP) and file search. Code, web search and actions come later. */
const SUPPORTED_AGENT_CAPABILITIES = new Set(['file_search', 'tools']);
export async function startupRoutes(app: FastifyInstance, options: { config: Config; endpoints: EndpointsConfig; balance?: BalanceConfig }) {
  const { config, endpoints } = options;

  app.get('/api/config', async () => ({
    appTitle: config.APP_TITLE,
    socialLogins: [],
    discordLoginEnabled: false,
    facebookLoginEnabled: false,
    githubLoginEnabled: false,
    googleLoginEnabled: false,
    openidLoginEnabled: false,
    appleLoginEnabled: false,
    samlLoginEnabled: false,
    openidLabel: '',
    openidImageUrl: '',
    openidAutoRedirect: false,
    samlLabel: '',
    samlImageUrl: '',
    serverDomain: `http://${config.HOST}:${config.PORT}`,
    emailLoginEnabled: config.ALLOW_EMAIL_LOGIN,
    registrationEnabled: config.ALLOW_REGISTRATION,
    socialLoginEnabled: false,
    passwordResetEnabled: false,
    emailEnabled: false,
    showBirthdayIcon: false,
    helpAndFaqURL: '/',
    // Share links are on, and their public view needs no login (LibreChat's defaults).
    sharedLinksEnabled: true,
    publicSharedLinksEnabled: true,
    interface: endpoints.interface,
    // LibreChat's `mcpServers`: what the client shows in the MCP menu and settings.
    mcpServers: publicMcpServers(endpoints.mcpServers),
    // LibreChat sends its balance config; the client shows the balance (and asks /api/balance) when enabled.
    balance: publicBalanceConfig(options.balance ?? DISABLED_BALANCE),
    // The client checks an import's size against this before uploading it.
    conversationImportMaxFileSize: config.CONVERSATION_IMPORT_MAX_FILE_SIZE_BYTES,
    // durachat's own addition: the client may resume a run with GET /api/agents/chat/stream/:streamId.
    resumableStreams: true,
  }));

  app.get('/api/endpoints', { preHandler: app.requireJwt }, async () => ({
    ...Object.fromEntries(
      endpoints.endpoints.map((endpoint) => [
        endpoint.name,
        {
          order: endpoint.order,
          type: endpoint.type === 'custom' ? 'custom' : undefined,
          userProvide: endpoint.userProvide ?? false,
          userProvideURL: endpoint.userProvideURL ?? false,
          modelDisplayLabel: endpoint.modelDisplayLabel,
          iconURL: endpoint.iconURL,
          name: endpoint.name,
        },
      ]),
    ),
    // LibreChat's agents endpoint: the client shows the agent builder and the agents in its menu. Only
    // capabilities durachat has are offered (the YAML may name more; they appear when they are built).
    agents: {
      order: endpoints.endpoints.length,
      disableBuilder: endpoints.agents.disableBuilder,
      capabilities: endpoints.agents.capabilities.filter((capability) => SUPPORTED_AGENT_CAPABILITIES.has(capability)),
      recursionLimit: endpoints.agents.recursionLimit,
      maxRecursionLimit: endpoints.agents.maxRecursionLimit,
      name: 'agents',
    },
  }));

  app.get('/api/models', { preHandler: app.requireJwt }, async () =>
    Object.fromEntries(endpoints.endpoints.map((endpoint) => [endpoint.name, endpoint.models])),
  );

  // Read fresh, not from the authentication's short-lived user lookup (api/passport/user-lookup.ts): a
  // client that just changed its settings reads its own write.
  app.get('/api/user', { preHandler: app.requireJwt }, async (request) => {
    const user = await User.findById(authenticatedUser(request).id).lean<Record<string, unknown> & { _id: unknown }>();
    if (!user) throw new UnauthorizedError('Unauthorized');
    return toPublicUser(user);
  });

  app.get<{ Params: { roleName: string } }>('/api/roles/:roleName', { preHandler: app.requireJwt }, async (request) => {
    const user = authenticatedUser(request);
    const roleName = request.params.roleName.toUpperCase();
    // A user may read their own role; only an admin may read another one.
    if (roleName !== user.role && user.role !== SystemRoles.ADMIN) throw new ForbiddenError('Access denied');
    const role = roleDefinitions[roleName];
    if (!role) throw new NotFoundError('Role not found');
    return role;
  });
}
