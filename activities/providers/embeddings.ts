import { ApplicationFailure } from '@temporalio/activity';
import type { ResolvedEndpoint } from '../../shared/endpoints-config.ts';
import { createOpenAIProvider } from './openai.ts';
import { PROVIDER_REJECTED } from './provider-errors.ts';
import type { EmbedRequest, EmbedResult, EmbeddingsProvider } from './provider.ts';

export const DEFAULT_EMBEDDINGS_BATCH_SIZE = 64;

type Protocol = NonNullable<ResolvedEndpoint['protocol']>;

export interface EmbedderOptions {
  /** Inputs per provider request (OpenAI accepts up to 2048; smaller batches lose less to a retry). */
  batchSize?: number;
  /** The SDK modules that have an embeddings call, by wire protocol. */
  providers?: Partial<Record<Protocol, EmbeddingsProvider>>;
}

export interface EmbedBatchesRequest extends EmbedRequest {
  /** After each batch (an activity heartbeats here, so a long file shows progress and a lost worker is noticed). */
  onBatch?: (embedded: number, total: number) => void;
}

export type Embedder = ReturnType<typeof createEmbedder>;

/**
 * A signal for one request that follows the activity's. The SDK adds an abort listener to the signal it is
 * given and never removes it: handed the activity's own signal, a file of a thousand batches would leave a
 * thousand listeners on it. Each batch's listener goes with its child signal instead.
 */
async function withChildSignal<T>(parent: AbortSignal, run: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const child = new AbortController();
  const abort = () => child.abort(parent.reason);
  parent.addEventListener('abort', abort, { once: true });
  try {
    return await run(child.signal);
  } finally {
    parent.removeEventListener('abort', abort);
  }
}

function rejected(message: string, details: Record<string, unknown>): ApplicationFailure {
  return ApplicationFailure.create({ message, type: PROVIDER_REJECTED, nonRetryable: true, details: [details] });
}

/**
 * Embeds any number of texts through the endpoint's SDK module, `batchSize` inputs per request, in order.
 * Errors are the provider's classified ones (429/5xx plain and retried, 400/401 final). A batch whose answer
 * does not fit (wrong count, vectors of different lengths) is final too: asking again gets the same answer.
 */
export function createEmbedder(options: EmbedderOptions = {}) {
  const batchSize = options.batchSize ?? DEFAULT_EMBEDDINGS_BATCH_SIZE;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`embeddings batch size must be a positive integer, not ${batchSize}`);
  const providers = options.providers ?? { openAI: createOpenAIProvider() };

  function providerFor(endpoint: ResolvedEndpoint): EmbeddingsProvider {
    const protocol: Protocol = endpoint.protocol ?? (endpoint.type === 'custom' ? 'openAI' : endpoint.type);
    const provider = providers[protocol];
    if (!provider) throw rejected(`Endpoint ${endpoint.name} (${protocol}) has no embeddings API durachat can call; choose an OpenAI-compatible endpoint for embeddings.`, { endpoint: endpoint.name });
    return provider;
  }

  return {
    batchSize,
    async embed(request: EmbedBatchesRequest): Promise<EmbedResult> {
      const provider = providerFor(request.endpoint);
      const vectors: number[][] = [];
      let inputTokens = 0;
      let usageReported = false;
      for (let start = 0; start < request.inputs.length; start += batchSize) {
        request.signal.throwIfAborted();
        const inputs = request.inputs.slice(start, start + batchSize);
        const result = await withChildSignal(request.signal, (signal) => provider.embed({ endpoint: request.endpoint, model: request.model, inputs, signal, dimensions: request.dimensions }));
        if (result.vectors.length !== inputs.length) {
          throw rejected(`The embeddings API returned ${result.vectors.length} vectors for ${inputs.length} inputs.`, { model: request.model });
        }
        for (const vector of result.vectors) {
          const dimensions = vectors[0]?.length ?? vector.length;
          if (vector.length === 0 || vector.length !== dimensions || !vector.every(Number.isFinite)) {
            throw rejected(`The embeddings API returned an unusable vector (${vector.length} dimensions, expected ${dimensions}).`, { model: request.model });
          }
          vectors.push(Array.from(vector));
        }
        if (result.usage) {
          usageReported = true;
          inputTokens += result.usage.inputTokens;
        }
        request.onBatch?.(vectors.length, request.inputs.length);
      }
      return usageReported ? { vectors, usage: { inputTokens } } : { vectors };
    },
  };
}
