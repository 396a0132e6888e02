import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import type { ModelProvider } from './provider.ts';

type Protocol = NonNullable<ResolvedEndpoint['protocol']> | Exclude<ResolvedEndpoint['type'], 'custom'>;

/**
 * Which provider module serves each protocol. A new SDK: one module and one line here. Each SDK is loaded
 * the first time an endpoint of its protocol is called, not at start: the four SDKs weigh ~40 MiB of the
 * worker's memory together (openai 13, @anthropic-ai/sdk 12, @google/genai 9, the Bedrock client 4, measured
 * one by one), and a deployment usually calls one or two of them. The first call to an SDK pays its import
 * once (100–300 ms on this machine); bench/README.md, "Worker memory".
 */
const loaders: Record<Protocol, () => Promise<ModelProvider>> = {
  openAI: () => import('./openai.ts').then((module) => module.createOpenAIProvider()),
  anthropic: () => import('./anthropic.ts').then((module) => module.createAnthropicProvider()),
  google: () => import('./google.ts').then((module) => module.createGoogleProvider()),
  bedrock: () => import('./bedrock.ts').then((module) => module.createBedrockProvider()),
};

export function protocolOf(endpoint: Pick<ResolvedEndpoint, 'type' | 'protocol'>): Protocol {
  return endpoint.protocol ?? (endpoint.type === 'custom' ? 'openAI' : endpoint.type);
}

export function createProviderRegistry() {
  const loaded = new Map<Protocol, Promise<ModelProvider>>();
  return {
    /** The endpoint's provider, its SDK loaded on first use (a failed load is tried again on the next call). */
    providerFor(endpoint: ResolvedEndpoint): Promise<ModelProvider> {
      const protocol = protocolOf(endpoint);
      let provider = loaded.get(protocol);
      if (!provider) {
        provider = loaders[protocol]();
        loaded.set(protocol, provider);
        provider.catch(() => loaded.delete(protocol));
      }
      return provider;
    },
  };
}
export type ProviderRegistry = ReturnType<typeof createProviderRegistry>;
export type { ModelProvider, PromptMessage, ProviderChunk } from './provider.ts';
