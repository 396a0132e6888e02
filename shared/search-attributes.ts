import { defineSearchAttributeKey, SearchAttributeType, TypedSearchAttributes } from '@temporalio/common';

/**
 * Custom search attributes on every durachat run, so an operator can find runs by what they know
 * ("this user's runs", "everything on gpt-4o today") with a List Filter such as
 * `DurachatUser = "…" AND DurachatRunKind = "chat"`. A cluster must have them registered before a
 * workflow that sets them starts: the local dev server gets them from infra/local-services.ts, a
 * production cluster from `temporal operator search-attribute create` (README.md).
 */
export const durachatUser = defineSearchAttributeKey('DurachatUser', SearchAttributeType.KEYWORD);
export const durachatConversation = defineSearchAttributeKey('DurachatConversation', SearchAttributeType.KEYWORD);
export const durachatEndpoint = defineSearchAttributeKey('DurachatEndpoint', SearchAttributeType.KEYWORD);
export const durachatModel = defineSearchAttributeKey('DurachatModel', SearchAttributeType.KEYWORD);
export const durachatRunKind = defineSearchAttributeKey('DurachatRunKind', SearchAttributeType.KEYWORD);

export const durachatSearchAttributeKeys = [durachatUser, durachatConversation, durachatEndpoint, durachatModel, durachatRunKind] as const;

/** The same list as the CLI spells it (`DurachatUser=Keyword`), for scripts that start or configure a server. */
export const durachatSearchAttributes: readonly { name: string; cliType: string }[] = durachatSearchAttributeKeys.map((key) => ({
  name: key.name,
  cliType: TypedSearchAttributes.toMetadataType(key.type),
}));

/** `--search-attribute Name=Type` pairs for `temporal server start-dev`. */
export function devServerSearchAttributeArgs(): string[] {
  return durachatSearchAttributes.flatMap(({ name, cliType }) => ['--search-attribute', `${name}=${cliType}`]);
}
