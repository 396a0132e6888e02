import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { createAnthropicProvider } from './anthropic.ts';
import { createBedrockProvider } from './bedrock.ts';
import { createGoogleProvider } from './google.ts';
import { createOpenAIProvider } from './openai.ts';
import type { ModelProvider } from './provider.ts';

/** Which provider module serves each endpoint type. A new SDK: one module and one line here. */
export function createProviderRegistry() {
  const openAI = createOpenAIProvider();
  const byType: Record<ResolvedEndpoint['type'], ModelProvider> = { openAI, custom: openAI, anthropic: createAnthropicProvider(), google: createGoogleProvider(), bedrock: createBedrockProvider() };
  return {
    providerFor(endpoint: ResolvedEndpoint): ModelProvider {
      return byType[endpoint.protocol ?? endpoint.type];
    },
  };
}
export type ProviderRegistry = ReturnType<typeof createProviderRegistry>;
export type { ModelProvider, PromptMessage, ProviderChunk } from './provider.ts';
