import { randomUUID } from 'node:crypto';
import type { Readable } from 'node:stream';
import type { Types } from 'mongoose';
import { NotFoundInStorageError, storageKey } from '../../activities/files/storage/file-storage.ts';
import type { FileStorages } from '../../activities/files/storage/create-file-storage.ts';
import { ForbiddenError, NotFoundError, ValidationError } from '../../shared/errors.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import type { FileKind, FilesConfig, FileStrategy } from '../../shared/file-config.ts';
import { Agent } from '../../shared/models/agent.ts';
import { PermissionBits } from '../../shared/models/acl-entry.ts';
import { File } from '../../shared/models/file.ts';
import { createAgentAccess, type AgentUser } from './agent-access.ts';
import { HeadInspector, sniffFileType } from './file-type-sniffer.ts';
import { FILE_VIEW_PROJECTION, publicFile, type LeanFile } from './file-views.ts';
import type { FileWorkflows } from './file-workflows.ts';
import { holdsText } from '../../shared/file-ingestion.ts';

export const TOOL_RESOURCES = ['file_search', 'execute_code', 'context', 'image_edit'] as const;
export type ToolResource = (typeof TOOL_RESOURCES)[number];

/** The multipart fields of an upload, validated by the route. */
export interface UploadFields {
  temp_file_id: string;
  endpoint: string;
  tool_resource?: ToolResource;
  agent_id?: string;
  message_file?: boolean;
  width?: number;
  height?: number;
}

/** An object written to storage whose record is not made yet: finished or discarded by the route. */
export interface PendingUpload {
  fileId: string;
  key: string;
  strategy: FileStrategy;
  filename: string;
  claimedType: string;
  type: string;
  bytes: number;
  sha256: string;
}

/** Refused because of its size: the route answers 413. */
export class UploadTooLargeError extends Error {
  constructor(readonly maxBytes: number) {
    super(`File exceeds the maximum allowed size of ${+(maxBytes / (1024 * 1024)).toFixed(2)} MB`);
  }
}

const AGENT_NOT_FOUND = 'agent not found';

/**
 * Uploads (LIBRECHAT-API.md §4): stored by the kind's storage strategy with the size bounded while the bytes
 * stream and the type judged from the content, recorded with status `pending` for the ingestion workflow.
 * Files are their owner's; an agent's files are seen through the agent's ACL.
 */
export function createFileService(dependencies: { files: FilesConfig; storages: FileStorages; workflows?: FileWorkflows }) {
  const { files, storages } = dependencies;
  const access = createAgentAccess();

  function checkType(type: string, claimedType: string, endpoint: string) {
    const limits = files.limits.forEndpoint(endpoint);
    if (limits.disabled) throw new ValidationError(`File uploads are disabled for the ${endpoint} endpoint`);
    if (!limits.supportedMimeTypes.some((pattern) => pattern.test(type))) {
      const said = claimedType && claimedType !== type ? ` (its content is ${type}, though it was sent as ${claimedType})` : '';
      throw new ValidationError(`Unsupported file type: ${type}${said}`);
    }
  }

  /** The agent and the user's bits on it; 404 unless the user can at least VIEW it (as api/services/agent-service.ts). */
  async function agentWithBits(user: AgentUser, agentId: string, required: number) {
    const agent = await Agent.findOne({ id: agentId }, { _id: 1, id: 1, author: 1, tool_resources: 1 }).lean<{ _id: Types.ObjectId; id: string; author: Types.ObjectId; tool_resources?: Record<string, { file_ids?: string[] }> }>();
    if (!agent) throw new NotFoundError(AGENT_NOT_FOUND);
    const bits = await access.bitsOn(user, agent._id);
    if (!(bits & PermissionBits.VIEW)) throw new NotFoundError(AGENT_NOT_FOUND);
    if ((bits & required) !== required) throw new ForbiddenError('Insufficient permissions to access this agent');
    return agent;
  }

  async function ownedFile(userId: string, fileId: string): Promise<LeanFile> {
    const file = await File.findOne({ file_id: fileId, user: userId }, FILE_VIEW_PROJECTION).lean<LeanFile>();
    if (!file) throw new NotFoundError('File not found');
    return file;
  }

  return {
    /**
     * Streams the upload into storage: cut at the server's limit (the endpoint's when its field came first),
     * refused before any byte is stored when its content's type is not allowed for an endpoint already named.
     */
    async store(user: AgentUser, upload: { stream: Readable; filename: string; mimetype: string; kind: FileKind; endpoint?: string; imageOnly: boolean }): Promise<PendingUpload> {
      const limits = upload.endpoint ? files.limits.forEndpoint(upload.endpoint) : undefined;
      if (limits?.disabled) throw new ValidationError(`File uploads are disabled for the ${upload.endpoint} endpoint`);
      const maxBytes = Math.min(files.limits.serverFileSizeLimit, limits?.fileSizeLimit ?? Infinity);
      const fileId = randomUUID();
      const strategy = files.strategyFor(upload.kind);
      const key = storageKey(user.id, fileId);
      let type = 'application/octet-stream';
      const inspector = new HeadInspector((head, complete) => {
        type = sniffFileType(head, { mimetype: upload.mimetype, filename: upload.filename }, complete);
        if (upload.imageOnly && !type.startsWith('image/')) throw new ValidationError(`Unsupported file type: ${type} (this route takes images)`);
        if (upload.endpoint) checkType(type, upload.mimetype, upload.endpoint);
      });
      upload.stream.on('error', (error) => inspector.destroy(error));
      // A refusal can come before the storage's pipeline listens (a small file ends while the local strategy
      // is still making its folder); the pipeline still sees the stream's error once it is attached.
      inspector.on('error', () => undefined);
      try {
        const stored = await storages(strategy).put(key, upload.stream.pipe(inspector), { contentType: upload.mimetype || 'application/octet-stream', maxBytes });
        return { fileId, key, strategy, filename: upload.filename, claimedType: upload.mimetype, type, bytes: stored.bytes, sha256: stored.sha256 };
      } catch (error) {
        if ((error as Error).name === 'FileTooLargeError') throw new UploadTooLargeError(maxBytes);
        throw error;
      }
    },

    /** Checks what could not be checked while streaming (fields sent after the file), links the agent, writes the record. */
    async finish(user: AgentUser, pending: PendingUpload, fields: UploadFields) {
      const limits = files.limits.forEndpoint(fields.endpoint);
      if (pending.bytes === 0) throw new ValidationError('Empty file uploaded');
      if (pending.bytes > limits.fileSizeLimit) throw new UploadTooLargeError(limits.fileSizeLimit);
      checkType(pending.type, pending.claimedType, fields.endpoint);
      if (fields.tool_resource && fields.agent_id) {
        if (fields.tool_resource === 'file_search' && pending.type.startsWith('image/')) throw new ValidationError('Image uploads are not supported for file search tool resources');
        const agent = await agentWithBits(user, fields.agent_id, PermissionBits.EDIT);
        await Agent.updateOne({ _id: agent._id }, { $addToSet: { tools: fields.tool_resource, [`tool_resources.${fields.tool_resource}.file_ids`]: pending.fileId } });
      }
      const created = await File.create({
        user: user.id,
        file_id: pending.fileId,
        temp_file_id: fields.temp_file_id,
        bytes: pending.bytes,
        filename: pending.filename,
        filepath: `/api/files/download/${user.id}/${pending.fileId}`,
        type: pending.type,
        source: pending.strategy,
        storageKey: pending.key,
        sha256: pending.sha256,
        status: 'pending',
        // LibreChat's FileContext: what the file was uploaded for.
        context: fields.tool_resource && fields.agent_id ? 'agents' : fields.message_file ? 'message_attachment' : undefined,
        endpoint: fields.endpoint,
        ...(fields.tool_resource ? { tool_resource: fields.tool_resource } : {}),
        ...(fields.agent_id ? { agent_id: fields.agent_id } : {}),
        ...(fields.width !== undefined && fields.height !== undefined ? { width: fields.width, height: fields.height } : {}),
      });
      const record = created.toObject() as LeanFile;
      if (dependencies.workflows && holdsText(pending.type)) {
        await dependencies.workflows.startIngestion({ fileId: pending.fileId, userId: user.id, filename: pending.filename, mimeType: pending.type, storage: { strategy: pending.strategy, key: pending.key } });
      } else if (!holdsText(pending.type)) {
        // Nothing to extract: an image is ready as it is stored.
        await File.updateOne({ _id: created._id }, { $set: { status: 'ready' } });
        record.status = 'ready';
      }
      return publicFile(record);
    },

    /** Removes an object whose upload was refused after it was stored. */
    async discard(pending: PendingUpload) {
      await storages(pending.strategy).delete(pending.key);
    },

    async list(userId: string) {
      const found = await File.find({ user: userId }, FILE_VIEW_PROJECTION).sort({ updatedAt: -1 }).limit(1000).lean<LeanFile[]>();
      return found.map(publicFile);
    },

    async get(userId: string, fileId: string) {
      return publicFile(await ownedFile(userId, fileId));
    },

    /** The owner's file and its bytes; anyone else gets 404, as if it did not exist. */
    async open(requesterId: string, ownerId: string, fileId: string) {
      if (requesterId !== ownerId) throw new NotFoundError('File not found');
      const file = await ownedFile(ownerId, fileId);
      try {
        const { body, size } = await storages(file.source as FileStrategy).get(file.storageKey);
        return { file: publicFile(file), body, size };
      } catch (error) {
        // A record whose object is gone (a delete that stopped half-way): as if the file were gone too.
        if (error instanceof NotFoundInStorageError) throw new NotFoundError('File not found');
        throw error;
      }
    },

    /**
     * Deletes the user's files (object first, then record: a crash between leaves a record whose retried
     * delete succeeds). Others' files are refused unless they belong to an agent the user may EDIT; with
     * `agent_id` and `tool_resource` the files are only unlinked from the agent. Unknown ids are ignored.
     */
    async remove(user: AgentUser, request: { fileIds: string[]; agent_id?: string; tool_resource?: ToolResource }) {
      if (request.agent_id && request.tool_resource) {
        const agent = await agentWithBits(user, request.agent_id, PermissionBits.EDIT);
        await Agent.updateOne({ _id: agent._id }, { $pullAll: { [`tool_resources.${request.tool_resource}.file_ids`]: request.fileIds } });
        return { unlinked: true as const };
      }
      const found = await findEachId(request.fileIds, (file_id) => File.find({ file_id }, FILE_VIEW_PROJECTION).lean<LeanFile[]>(), {
        manyIds: (many) => File.find({ file_id: { $in: many } }, FILE_VIEW_PROJECTION).lean<LeanFile[]>(),
      });
      // Another user's file may be deleted only as an editor of the agent its owner uploaded it to (the file's
      // own `agent_id`): ids merely listed in some agent's tool_resources prove nothing (anyone can list any id
      // in an agent of their own).
      let editsAgent = false;
      if (request.agent_id && found.some((file) => String(file.user) !== user.id)) {
        editsAgent = (await agentWithBits(user, request.agent_id, PermissionBits.EDIT).catch(() => undefined)) !== undefined;
      }
      const unauthorized = found.filter((file) => String(file.user) !== user.id && !(editsAgent && file.agent_id === request.agent_id)).map((file) => file.file_id);
      if (unauthorized.length > 0) return { unauthorizedFiles: unauthorized };
      if (dependencies.workflows) {
        // A workflow per file: vectors, object and record go, whatever crashes on the way.
        await dependencies.workflows.deleteFiles(found.map((file) => ({ fileId: file.file_id, userId: String(file.user), filename: file.filename, mimeType: file.type, storage: { strategy: file.source ?? 'local', key: file.storageKey } })));
        return { deleted: found.length };
      }
      for (const file of found) {
        await storages(file.source as FileStrategy).delete(file.storageKey);
        await File.deleteOne({ _id: file._id });
      }
      return { deleted: found.length };
    },

    /** The files in an agent's tool resources, for a user who can VIEW the agent. */
    async agentFiles(user: AgentUser, agentId: string) {
      const agent = await agentWithBits(user, agentId, PermissionBits.VIEW);
      const ids = [...new Set(Object.values(agent.tool_resources ?? {}).flatMap((resource) => resource?.file_ids ?? []))];
      if (ids.length === 0) return [];
      // Only files the agent's author uploaded, or that were uploaded to this agent: not any id someone listed.
      // By id (shared/find-each-id.ts: FerretDB reads the whole collection for `file_id: {$in}`).
      const readable = [{ user: agent.author }, { agent_id: agentId }];
      const found = await findEachId(ids, (file_id) => File.find({ file_id, $or: readable }, FILE_VIEW_PROJECTION).lean<LeanFile[]>(), {
        manyIds: (many) => File.find({ file_id: { $in: many }, $or: readable }, FILE_VIEW_PROJECTION).lean<LeanFile[]>(),
      });
      return found.map(publicFile);
    },
  };
}
export type FileService = ReturnType<typeof createFileService>;
