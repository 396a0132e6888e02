import mongoose from 'mongoose';
import type { z } from 'zod';
import type { EndpointsConfig } from '../../shared/endpoints-config.ts';
import { ValidationError } from '../../shared/errors.ts';
import { findOperatorKey } from '../validation.ts';
import { saveNewConversation } from './conversation-copy-service.ts';
import { chatbotUiExportSchema, isChatbotUiExport, readChatbotUiExport } from './conversation-import/chatbot-ui-export.ts';
import { chatGptExportSchema, isChatGptExport, readChatGptExport } from './conversation-import/chatgpt-export.ts';
import { claudeExportSchema, isClaudeExport, readClaudeExport } from './conversation-import/claude-export.ts';
import type { ImportedConversation } from './conversation-import/imported-conversation.ts';
import { isLibreChatExport, libreChatExportSchema, readLibreChatExport } from './conversation-import/librechat-export.ts';

/** Bounds on one import besides the upload size, so one file cannot occupy the database for minutes. */
export const MAX_IMPORT_CONVERSATIONS = 5_000;
export const MAX_IMPORT_MESSAGES = 100_000;

const SUPPORTED = 'a LibreChat conversation export, a ChatGPT or Claude conversations.json or a chatbot-ui export';

/** Zod's first problem as a sentence that names the format and where in the file it is. */
function parseExport<Schema extends z.ZodType>(schema: Schema, json: unknown, format: string): z.output<Schema> {
  const result = schema.safeParse(json);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const where = issue.path.length ? ` at ${issue.path.join('.')}` : '';
  throw new ValidationError(`The file looks like ${format} but is malformed${where}: ${issue.message}`);
}

/** LibreChat's format detection order: Claude, then ChatGPT (arrays), chatbot-ui (`version` + `history`), LibreChat. */
export function readExport(json: unknown, now = new Date()): { format: string; conversations: ImportedConversation[] } {
  if (isClaudeExport(json)) return { format: 'claude', conversations: readClaudeExport(parseExport(claudeExportSchema, json, 'a Claude export'), now) };
  if (isChatGptExport(json)) return { format: 'chatgpt', conversations: readChatGptExport(parseExport(chatGptExportSchema, json, 'a ChatGPT export'), now) };
  if (isChatbotUiExport(json)) return { format: 'chatbot-ui', conversations: readChatbotUiExport(parseExport(chatbotUiExportSchema, json, 'a chatbot-ui export'), now) };
  if (isLibreChatExport(json)) return { format: 'librechat', conversations: readLibreChatExport(parseExport(libreChatExportSchema, json, 'a LibreChat export'), now) };
  throw new ValidationError(`Unsupported import format: expected ${SUPPORTED}`);
}

export function createConversationImportService(dependencies: { endpoints: EndpointsConfig }) {
  const endpoints = [...dependencies.endpoints.endpoints].sort((a, b) => a.order - b.order);

  /** An endpoint and model this deployment has, as LibreChat's import falls back to its first endpoint. */
  function resolveEndpoint(settings: Record<string, unknown>) {
    const named = endpoints.find((endpoint) => endpoint.name === settings.endpoint);
    const endpoint = named ?? endpoints[0];
    if (!endpoint) return settings;
    const model = typeof settings.model === 'string' && endpoint.models.includes(settings.model) ? settings.model : endpoint.models[0];
    return { ...settings, endpoint: endpoint.name, endpointType: endpoint.type === 'custom' ? 'custom' : undefined, model };
  }

  return {
    /** Parses, checks and saves every conversation of an uploaded export; answers how many were imported. */
    async importFile(userId: string, file: Buffer) {
      let json: unknown;
      try {
        json = JSON.parse(file.toString('utf8'));
      } catch {
        throw new ValidationError(`The file is not valid JSON; expected ${SUPPORTED}`);
      }
      const { format, conversations } = readExport(json);
      if (conversations.length === 0) throw new ValidationError('The file contains no conversations');
      if (conversations.length > MAX_IMPORT_CONVERSATIONS) throw new ValidationError(`The file contains more than ${MAX_IMPORT_CONVERSATIONS} conversations`);
      const messageCount = conversations.reduce((sum, conversation) => sum + conversation.messages.length, 0);
      if (messageCount === 0) throw new ValidationError('The file contains no messages');
      if (messageCount > MAX_IMPORT_MESSAGES) throw new ValidationError(`The file contains more than ${MAX_IMPORT_MESSAGES} messages`);
      // Stored as given, so no key may read as a MongoDB operator or path.
      const badKey = findOperatorKey(conversations.map((conversation) => conversation.messages.map((message) => [message.content, message.feedback])));
      if (badKey) throw new ValidationError(`The file contains a field named "${badKey}", which cannot be stored`);

      const imported: string[] = [];
      for (const conversation of conversations) {
        const settings = resolveEndpoint(conversation.settings);
        // Files and attachments name records of another system; the endpoint is the one resolved here.
        const messages = conversation.messages.map((message) => ({ ...message, endpoint: settings.endpoint, files: undefined, attachments: undefined }));
        try {
          const saved = await saveNewConversation(userId, { title: conversation.title.slice(0, 200), createdAt: conversation.createdAt, settings, messages });
          imported.push(saved.conversationId);
        } catch (error) {
          // A value the schemas let through but the model cannot store is the file's fault, not the server's.
          if (!(error instanceof mongoose.Error.ValidationError || error instanceof mongoose.Error.CastError)) throw error;
          throw new ValidationError(`Conversation "${conversation.title}" cannot be stored (${imported.length} imported before it): ${(error as Error).message}`);
        }
      }
      return { format, conversationIds: imported };
    },
  };
}
export type ConversationImportService = ReturnType<typeof createConversationImportService>;
