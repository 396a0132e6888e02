import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { FileStorages } from '../../activities/files/storage/create-file-storage.ts';
import { NotFoundInStorageError, storageKey } from '../../activities/files/storage/file-storage.ts';
import { ConflictError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import type { FilesConfig, FileStrategy } from '../../shared/file-config.ts';
import { User } from '../../shared/models/user.ts';
import type { AgentService, AgentUser } from './agent-service.ts';
import { UploadTooLargeError } from './file-service.ts';
import { HeadInspector, sniffFileType } from './file-type-sniffer.ts';

/** The image types an avatar may be, judged from the content's magic bytes, with the extension its URL gets. */
const AVATAR_TYPES: Record<string, string> = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif' };
const TYPE_OF_EXTENSION: Record<string, string> = Object.fromEntries(Object.entries(AVATAR_TYPES).map(([type, extension]) => [extension, type]));

/** A user's avatar, or an agent's: the agent's id is part of the name, so only that agent's avatars are ever removed for it. */
export type AvatarOwner = { kind: 'user' } | { kind: 'agent'; agentId: string };

/** An avatar written to storage whose owner (user or agent) is not updated yet: set or discarded by the route. */
export interface StoredAvatar {
  strategy: FileStrategy;
  key: string;
  /** The URL path it is served at: `/images/<userId>/avatar-<uuid>.<ext>` or `/images/<userId>/agent-<agent id>-avatar-<uuid>.<ext>`. */
  path: string;
}

/**
 * `/images/<userId>/<name>.<ext>` → its storage key. Only avatar names match (`avatar-<uuid>`,
 * `agent-<agent id>-avatar-<uuid>`, LibreChat's own naming), and an uploaded file's key is `<userId>/<file uuid>`,
 * so no URL of this shape can reach a file that is not an avatar.
 */
const AVATAR_PATH = /^\/images\/([0-9a-f]{24})\/((?:agent-([A-Za-z0-9_-]{1,78})-)?avatar-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(png|jpg|webp|gif)(?:\?.*)?$/;
const AGENT_ID = /^[A-Za-z0-9_-]{1,78}$/;

export function parseAvatarPath(path: string): { userId: string; key: string; agentId?: string; type: string } | undefined {
  const match = AVATAR_PATH.exec(path);
  return match ? { userId: match[1]!, key: `${match[1]}/${match[2]}`, agentId: match[3], type: TYPE_OF_EXTENSION[match[4]!]! } : undefined;
}

/**
 * User and agent avatars (LIBRECHAT-API.md §4). Stored through `fileStrategies.avatar` (else the default) under a
 * fresh name each time, so a URL's bytes never change (served cacheable for ever); at most `avatarSizeLimit`,
 * cut while streaming; png, jpeg, webp or gif by their magic bytes. Not resized (LibreChat resizes with
 * sharp, which durachat does not carry): the size limit is what bounds them. Replacing one removes the old object.
 */
export function createAvatarService(deps: { files: FilesConfig; storages: FileStorages; agents: Pick<AgentService, 'getExpanded' | 'update'> }) {
  const { files, storages } = deps;
  const strategy = () => files.strategyFor('avatar');

  /**
   * Removes an avatar object this service made for `owner` (anything else is left alone: an OAuth picture's URL,
   * or a path an agent's editor typed into its `avatar` pointing at someone else's image).
   */
  async function removeObject(owner: { userId: string } | { agentId: string }, path: string | null | undefined, source?: string): Promise<void> {
    const parsed = path ? parseAvatarPath(path) : undefined;
    if (!parsed) return;
    if ('userId' in owner ? parsed.agentId !== undefined || parsed.userId !== owner.userId : parsed.agentId !== owner.agentId) return;
    // A user's avatar does not record its strategy: every strategy in use is asked (deleting nothing is fine).
    const sources = source && files.strategies.includes(source as FileStrategy) ? [source as FileStrategy] : files.strategies;
    await Promise.all(sources.map((name) => storages(name).delete(parsed.key)));
  }

  return {
    async store(userId: string, owner: AvatarOwner, upload: { stream: Readable; mimetype: string; filename: string }): Promise<StoredAvatar> {
      if (owner.kind === 'agent' && !AGENT_ID.test(owner.agentId)) throw new ValidationError('This agent\'s id cannot name an avatar');
      const name = owner.kind === 'agent' ? `agent-${owner.agentId}-avatar-${randomUUID()}` : `avatar-${randomUUID()}`;
      const key = storageKey(userId, name);
      let extension = '';
      const inspector = new HeadInspector((head, complete) => {
        const type = sniffFileType(head, { mimetype: upload.mimetype, filename: upload.filename }, complete);
        extension = AVATAR_TYPES[type] ?? '';
        if (!extension) throw new ValidationError(`Unsupported file type: ${type} (an avatar must be a PNG, JPEG, WebP or GIF image)`);
      });
      upload.stream.on('error', (error) => inspector.destroy(error));
      inspector.on('error', () => undefined);
      const maxBytes = files.limits.avatarSizeLimit;
      const target = strategy();
      try {
        const stored = await storages(target).put(key, upload.stream.pipe(inspector), { contentType: 'application/octet-stream', maxBytes });
        if (stored.bytes === 0) {
          await storages(target).delete(key);
          throw new ValidationError('Empty file uploaded');
        }
      } catch (error) {
        if ((error as Error).name === 'FileTooLargeError') throw new UploadTooLargeError(maxBytes);
        throw error;
      }
      return { strategy: target, key, path: `/images/${userId}/${name}.${extension}` };
    },

    async discard(stored: StoredAvatar): Promise<void> {
      await storages(stored.strategy).delete(stored.key);
    },

    /**
     * LibreChat's `{ url }`: the path with `?manual=<manual>`, as its client shows it. durachat always makes it
     * the user's avatar (LibreChat skips that when `manual` is 'false', which only its own server-side callers
     * send; here that would leave an object nobody points at).
     */
    async setUserAvatar(userId: string, stored: StoredAvatar, manual: boolean): Promise<{ url: string }> {
      const url = `${stored.path}?manual=${manual}`;
      // Compare-and-set on the old value (FerretDB's findAndModify takes no projection, and the user schema
      // always asks one), so of two uploads at once each removes exactly the avatar it replaced.
      let previous: { avatar?: string | null } | null;
      for (let attempt = 0; ; attempt += 1) {
        previous = await User.findById(userId, { avatar: 1 }).lean<{ avatar?: string | null }>();
        if (!previous) throw new NotFoundError('User not found');
        const written = await User.updateOne({ _id: userId, avatar: previous.avatar ?? null }, { $set: { avatar: url } });
        if (written.matchedCount === 1) break;
        if (attempt >= 5) throw new ConflictError('The avatar was changed by another request at the same time; try again');
      }
      // Best effort: the user already has the new one; an old object left behind costs storage, not correctness.
      await removeObject({ userId }, previous.avatar).catch(() => undefined);
      return { url };
    },

    /** Needs EDIT on the agent (404 when the user cannot see it, 403 when they only can): checked before any byte is stored. */
    async checkAgent(user: AgentUser, agentId: string): Promise<{ avatar?: { filepath?: string; source?: string } | null }> {
      return (await deps.agents.getExpanded(user, agentId)) as { avatar?: { filepath?: string; source?: string } | null };
    },

    /** Sets `avatar: {filepath, source}` as an agent update (a new version, as LibreChat's updateAgent) and removes the old object. */
    async setAgentAvatar(user: AgentUser, agentId: string, stored: StoredAvatar, previous: { filepath?: string; source?: string } | null | undefined) {
      const agent = await deps.agents.update(user, agentId, { avatar: { filepath: stored.path, source: stored.strategy } });
      await removeObject({ agentId }, previous?.filepath, previous?.source).catch(() => undefined);
      return agent;
    },

    /** An agent's avatar object, when the agent is deleted. */
    async removeAgentAvatar(agentId: string, avatar: { filepath?: string; source?: string } | null | undefined): Promise<void> {
      await removeObject({ agentId }, avatar?.filepath, avatar?.source);
    },

    /** The bytes at an avatar URL path (the avatar strategy first, then any other in use); 404 for anything else. */
    async open(path: string): Promise<{ body: Readable; size: number; type: string }> {
      const parsed = parseAvatarPath(path);
      if (!parsed) throw new NotFoundError('Not found');
      for (const name of [strategy(), ...files.strategies.filter((other) => other !== strategy())]) {
        try {
          const { body, size } = await storages(name).get(parsed.key);
          return { body, size, type: parsed.type };
        } catch (error) {
          if (!(error instanceof NotFoundInStorageError)) throw error;
        }
      }
      throw new NotFoundError('Not found');
    },
  };
}
export type AvatarService = ReturnType<typeof createAvatarService>;
