export { User, SystemRoles, toPublicUser } from './user.ts';
export { Session } from './session.ts';
export { Conversation, conversationParameterKeys } from './conversation.ts';
export { Message, ROOT_PARENT_MESSAGE_ID } from './message.ts';
export { PromptGroup, PROMPT_COMMAND_MAX_LENGTH } from './prompt-group.ts';
export { Prompt } from './prompt.ts';
export { ConversationTag } from './conversation-tag.ts';
export { Preset } from './preset.ts';
export { SharedLink } from './shared-link.ts';
