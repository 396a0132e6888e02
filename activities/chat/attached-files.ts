import { setTimeout as sleep } from 'node:timers/promises';
import { holdsText } from '../../shared/file-ingestion.ts';
import { File, type FileStatus } from '../../shared/models/file.ts';
import { findEachId } from '../../shared/find-each-id.ts';
import type { AttachedFileReference } from './load-thread.ts';

/**
 * What the files attached to a conversation's user messages add to the prompt (LibreChat: `source:'text'`
 * files as text in the user message within `fileTokenLimit`, images as vision input, `resendFiles` on).
 *
 * - Text-bearing files (shared/file-ingestion.ts `holdsText`) go in as text, from the `text` their ingestion
 *   stored on the record right after extraction (activities/files/store-extracted-text.ts), each framed with
 *   its name. One budget of `fileTokenLimit` tokens covers every file of the prompt, the newest message's
 *   files first, earlier messages' (re-sent) files after; it is also kept within the context window's room.
 *   A file cut to fit says so; one left out or unreadable gets one line saying why, the reply goes on.
 * - A file still being extracted is waited for, up to ATTACHMENT_WAIT_MS (the calling activity heartbeats
 *   on its own timer meanwhile, and the wait ends with its cancellation).
 * - Images (PNG, JPEG, GIF, WebP by their sniffed type) are planned here, their tokens estimated for
 *   prompt fitting; their bytes are read from storage only for the messages that stay in the prompt
 *   (./load-prompt-images.ts), inside the activity that calls the provider, never through workflow history.
 */

/** Distinct files one prompt considers, the newest messages' first (bounds the records read for a long conversation). */
export const MAX_PROMPT_FILES = 100;
/** How long a prompt waits for an attached file whose text is not extracted yet. */
export const ATTACHMENT_WAIT_MS = 60_000;
const ATTACHMENT_POLL_MS = 500;
/** Images sent with one prompt, the newest first (OpenAI and Anthropic take more, but each costs ~1,000+ tokens). */
export const MAX_PROMPT_IMAGES = 10;
/** Anthropic's per-image limit on its API (5 MB); larger ones get a note instead. */
export const MAX_PROMPT_IMAGE_BYTES = 5 * 1024 * 1024;
/** Anthropic's estimate, tokens ≈ width × height / 750, up to its ~1,600 tokens for a downscaled image. */
const IMAGE_PIXELS_PER_TOKEN = 750;
const MAX_IMAGE_TOKENS = 1600;
/** An image of unknown size: about what a typical photo costs on OpenAI and Anthropic. */
const UNKNOWN_SIZE_IMAGE_TOKENS = 1000;
/** Less room than this left for a file: it is left out with a note instead of a few words of it. */
const MIN_USEFUL_FILE_TOKENS = 32;

export const PROMPT_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/gif', 'image/webp'] as const;
export type PromptImageType = (typeof PROMPT_IMAGE_TYPES)[number];
const isPromptImageType = (type: string): type is PromptImageType => (PROMPT_IMAGE_TYPES as readonly string[]).includes(type);

/** The fields of a file record the prompt reads (its text is read on its own, only while the budget lasts). */
export interface AttachedFileRecord {
  file_id: string;
  filename: string;
  type: string;
  bytes: number;
  status: FileStatus;
  error?: string;
  /** Whether the record has its extracted `text`. */
  hasText: boolean;
  textTruncated?: boolean;
  width?: number;
  height?: number;
  source?: string;
  storageKey: string;
}

/** The file reads; injectable so a test can watch the wait. */
export interface AttachedFileStore {
  /** The user's own files among `fileIds` (others' are not found), without their text. */
  find(userId: string, fileIds: string[]): Promise<AttachedFileRecord[]>;
  /** One file's extracted text (up to a megabyte). */
  readText(userId: string, fileId: string): Promise<string | undefined>;
}

const recordProjection = { _id: 0, file_id: 1, filename: 1, type: 1, bytes: 1, status: 1, error: 1, textTruncated: 1, width: 1, height: 1, source: 1, storageKey: 1 };

export const mongoAttachedFileStore: AttachedFileStore = {
  async find(userId, fileIds) {
    // Texts are large: whether a record has one is a second, id-only query; the texts are read one by one later.
    // By id (shared/find-each-id.ts): `file_id: {$in}` made FerretDB read every file of the user.
    return findEachId(fileIds, async (file_id) => {
      const [records, withText] = await Promise.all([
        File.find({ user: userId, file_id }, recordProjection).lean<Array<Omit<AttachedFileRecord, 'hasText'>>>(),
        File.exists({ user: userId, file_id, text: { $exists: true } }),
      ]);
      return records.map((record) => ({ ...record, hasText: withText !== null }));
    });
  },
  async readText(userId, fileId) {
    return (await File.findOne({ user: userId, file_id: fileId }, { _id: 0, text: 1 }).lean<{ text?: string }>())?.text;
  },
};

/** An image to read from storage once the prompt is fitted. */
export interface PlannedImage {
  filename: string;
  mimeType: PromptImageType;
  source: string;
  storageKey: string;
  width?: number;
  height?: number;
  /** Estimated prompt tokens. */
  tokens: number;
}

/** What one user message gets from its files. */
export interface MessageAttachments {
  /** File texts and one-line notes, put before the message's own text. */
  context: string;
  images: PlannedImage[];
}

export interface AttachmentDependencies {
  countTokens: (texts: string[], signal?: AbortSignal) => Promise<number[]>;
  fileStore?: AttachedFileStore;
  /** Tokens of file text a prompt may carry in all (librechat.yaml `fileConfig.fileTokenLimit`). */
  fileTokenLimit: number;
  attachmentWaitMs?: number;
}

export interface AttachmentMessage {
  messageId: string;
  files?: AttachedFileReference[];
}

export function imageTokens(image: { width?: number; height?: number }): number {
  if (!image.width || !image.height) return UNKNOWN_SIZE_IMAGE_TOKENS;
  return Math.min(MAX_IMAGE_TOKENS, Math.ceil((image.width * image.height) / IMAGE_PIXELS_PER_TOKEN));
}

const isExtracting = (record: AttachedFileRecord) => holdsText(record.type) && !record.hasText && (record.status === 'pending' || record.status === 'extracting');

/**
 * The records, once every text file has its text or has stopped trying, or the wait is over. Each poll reads
 * only the files still being extracted (the reads go by id, two per file: shared/find-each-id.ts); one gone
 * meanwhile (deleted) is left out, as a first read would leave it out.
 */
async function settledRecords(store: AttachedFileStore, userId: string, fileIds: string[], waitMs: number, signal?: AbortSignal): Promise<Map<string, AttachedFileRecord>> {
  const deadline = Date.now() + waitMs;
  const records = new Map((await store.find(userId, fileIds)).map((record) => [record.file_id, record]));
  for (;;) {
    const extracting = [...records.values()].filter(isExtracting).map((record) => record.file_id);
    const remaining = deadline - Date.now();
    if (extracting.length === 0 || remaining <= 0) return records;
    await sleep(Math.min(ATTACHMENT_POLL_MS, remaining), undefined, { signal });
    const polled = new Map((await store.find(userId, extracting)).map((record) => [record.file_id, record]));
    for (const id of extracting) {
      const record = polled.get(id);
      if (record) records.set(id, record);
      else records.delete(id);
    }
  }
}

/** Why a text file has no text for the prompt, in a few words. */
function unreadableReason(record: AttachedFileRecord): string {
  if (record.status === 'error') return record.error ?? 'its processing failed';
  if (record.status === 'pending' || record.status === 'extracting') return 'it is still being processed';
  return 'its text is not available here';
}

const quoted = (name: string) => `"${name.replace(/"/g, "'")}"`;

/** The longest start of `text` within `maxTokens`: cut by the measured ratio, re-counted, then by bytes (a token covers at least a byte). */
async function cutToTokens(text: string, tokens: number, maxTokens: number, count: AttachmentDependencies['countTokens'], signal?: AbortSignal): Promise<string> {
  let cut = text;
  let cutTokens = tokens;
  for (let attempt = 0; attempt < 5 && cutTokens > maxTokens; attempt += 1) {
    cut = cut.slice(0, Math.floor((cut.length * maxTokens * 0.97) / cutTokens));
    [cutTokens] = await count([cut], signal);
  }
  if (cutTokens <= maxTokens) return cut;
  let bytes = 0;
  let end = 0;
  for (const character of cut) {
    bytes += Buffer.byteLength(character);
    if (bytes > maxTokens) break;
    end += character.length;
  }
  return cut.slice(0, end);
}

/**
 * The attachments of the thread's user messages (oldest first in `messages`), keyed by message id.
 * `roomTokens`: what the context window leaves for the newest message's files (its images included).
 */
export async function planAttachments(messages: AttachmentMessage[], userId: string, roomTokens: number, deps: AttachmentDependencies, signal?: AbortSignal): Promise<Map<string, MessageAttachments>> {
  // Newest first; a file attached again later is sent once, with the newest message that carries it; files past
  // MAX_PROMPT_FILES (the oldest) are not considered at all.
  const seen = new Set<string>();
  const isNew = (file: AttachedFileReference) => typeof file?.file_id === 'string' && !seen.has(file.file_id) && seen.size < MAX_PROMPT_FILES;
  const newestFirst = [...messages].reverse().map((message) => ({
    messageId: message.messageId,
    files: (message.files ?? []).filter((file) => isNew(file) && Boolean(seen.add(file.file_id))),
  }));
  const planned = new Map<string, MessageAttachments>();
  if (seen.size === 0) return planned;
  const records = await settledRecords(deps.fileStore ?? mongoAttachedFileStore, userId, [...seen], deps.attachmentWaitMs ?? ATTACHMENT_WAIT_MS, signal);

  // Images first: their tokens come out of the room the newest message's texts may use.
  let imageCount = 0;
  const lines = new Map<string, Array<{ fileId: string; line: string }>>();
  /** What the context window has left for file lines (bytes bound a line's tokens from above). */
  let room = roomTokens;
  const add = (messageId: string, fileId: string, line: string, cost = Buffer.byteLength(line) + 2) => {
    const list = lines.get(messageId) ?? [];
    list.push({ fileId, line });
    lines.set(messageId, list);
    room -= cost;
  };
  const images = new Map<string, PlannedImage[]>();
  for (const message of newestFirst) {
    const messageImages: PlannedImage[] = [];
    for (const reference of message.files) {
      const record = records.get(reference.file_id);
      if (!record || !isPromptImageType(record.type)) continue;
      const name = quoted(record.filename);
      if (record.bytes > MAX_PROMPT_IMAGE_BYTES) {
        add(message.messageId, record.file_id, `Attached image ${name} was not sent: it is larger than ${MAX_PROMPT_IMAGE_BYTES / 1024 / 1024} MB.`);
      } else if (imageCount >= MAX_PROMPT_IMAGES) {
        add(message.messageId, record.file_id, `Attached image ${name} was not sent: at most ${MAX_PROMPT_IMAGES} images are sent at once.`);
      } else {
        imageCount += 1;
        messageImages.push({ filename: record.filename, mimeType: record.type, source: record.source ?? 'local', storageKey: record.storageKey, width: record.width, height: record.height, tokens: imageTokens(record) });
      }
    }
    images.set(message.messageId, messageImages);
  }
  room -= (images.get(newestFirst[0]!.messageId) ?? []).reduce((sum, image) => sum + image.tokens, 0);

  // The texts, within fileTokenLimit and the room, read one at a time while there is budget for them.
  const store = deps.fileStore ?? mongoAttachedFileStore;
  let fileTokensLeft = deps.fileTokenLimit;
  for (const message of newestFirst) {
    for (const reference of message.files) {
      const record = records.get(reference.file_id);
      const name = quoted(record?.filename ?? reference.filename ?? reference.file_id);
      if (!record) {
        add(message.messageId, reference.file_id, `Attached file ${name} could not be read: it was deleted.`);
        continue;
      }
      if (isPromptImageType(record.type)) continue;
      if (!holdsText(record.type)) {
        add(message.messageId, record.file_id, `Attached file ${name} (${record.type}) was not sent: only text files and PNG, JPEG, GIF or WebP images reach the model.`);
        continue;
      }
      // The longest header a cut file can get, so a cut leaves room for it.
      const cutHeaderBytes = Buffer.byteLength(`Attached file ${name} (truncated to its first ${deps.fileTokenLimit} tokens: attached files may use ${deps.fileTokenLimit} tokens in all):\n`) + 2;
      const byLimit = fileTokensLeft <= room - cutHeaderBytes;
      const allowed = Math.min(fileTokensLeft, room - cutHeaderBytes);
      const text = record.hasText && allowed >= MIN_USEFUL_FILE_TOKENS ? await store.readText(userId, record.file_id) : undefined;
      if (!text) {
        const why = !record.hasText
          ? `could not be read: ${unreadableReason(record).replace(/\.$/, '')}`
          : `was left out: ${byLimit ? `attached files may use ${deps.fileTokenLimit} tokens in all, and earlier files used them` : "the model's context window has no room left for it"}`;
        add(message.messageId, record.file_id, `Attached file ${name} ${why}.`);
        continue;
      }
      const header = `Attached file ${name}${record.textTruncated ? ' (truncated: only the start of the file was kept)' : ''}:\n`;
      // Bytes bound tokens from above: the tokenizer is asked only about a text that might not fit.
      const bytes = Buffer.byteLength(text);
      const tokens = bytes <= allowed ? bytes : ((await deps.countTokens([text], signal))[0] ?? bytes);
      if (tokens <= allowed) {
        fileTokensLeft -= tokens;
        add(message.messageId, record.file_id, `${header}${text}`, Buffer.byteLength(header) + 2 + tokens);
        continue;
      }
      const cut = await cutToTokens(text, tokens, allowed, deps.countTokens, signal);
      const why = byLimit ? `: attached files may use ${deps.fileTokenLimit} tokens in all` : " to fit the model's context window";
      add(message.messageId, record.file_id, `Attached file ${name} (truncated to its first ${allowed} tokens${why}):\n${cut}`, cutHeaderBytes + allowed);
      fileTokensLeft -= allowed;
    }
  }

  for (const message of newestFirst) {
    // Each message's files in the order they were attached.
    const order = message.files.map((reference) => reference.file_id);
    const messageLines = (lines.get(message.messageId) ?? []).sort((a, b) => order.indexOf(a.fileId) - order.indexOf(b.fileId));
    const messageImages = images.get(message.messageId) ?? [];
    if (messageLines.length > 0 || messageImages.length > 0) planned.set(message.messageId, { context: messageLines.map((entry) => entry.line).join('\n\n'), images: messageImages });
  }
  return planned;
}
