import { z } from 'zod';
import type { TreeMessage } from '../message-tree.ts';
import type { ImportedConversation } from './imported-conversation.ts';

/** chatbot-ui (v1, legacy) "Export data": `{version, history: [{name, model, messages: [{role, content}]}]}`. */
export const chatbotUiExportSchema = z.looseObject({
  version: z.union([z.number(), z.string()]),
  history: z.array(
    z.looseObject({
      name: z.string().nullish(),
      model: z.looseObject({ id: z.string().nullish() }).nullish(),
      messages: z.array(z.looseObject({ role: z.string(), content: z.string() })),
    }),
  ),
});

export function isChatbotUiExport(json: unknown): boolean {
  return !!json && typeof json === 'object' && !Array.isArray(json) && 'version' in json && 'history' in json;
}

/** A straight line of messages; the export has no times, so they are spaced 1 ms apart from now. */
export function readChatbotUiExport(json: z.infer<typeof chatbotUiExportSchema>, now: Date): ImportedConversation[] {
  return json.history.map((conversation, index) => {
    const model = conversation.model?.id ?? undefined;
    const messages: TreeMessage[] = [];
    for (const message of conversation.messages) {
      if (message.role !== 'user' && message.role !== 'assistant') continue;
      const isCreatedByUser = message.role === 'user';
      messages.push({
        messageId: `m${messages.length}`,
        parentMessageId: messages.at(-1)?.messageId,
        text: message.content,
        isCreatedByUser,
        sender: isCreatedByUser ? 'user' : 'GPT-3.5',
        ...(isCreatedByUser ? {} : { model }),
        createdAt: new Date(now.getTime() + messages.length),
      });
    }
    return { title: conversation.name || 'Imported Chat', createdAt: new Date(now.getTime() - index), settings: { endpoint: 'openAI', model }, messages };
  });
}
