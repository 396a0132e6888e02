export { User, SystemRoles, toPublicUser } from './user.ts';
export { Session } from './session.ts';
export { Conversation, conversationParameterKeys } from './conversation.ts';
export { Message, ROOT_PARENT_MESSAGE_ID } from './message.ts';
