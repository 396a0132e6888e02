import type { RunInfo } from '../../shared/run-registry.ts';

/** A run as durachat's own status and active routes describe it. */
export function describeRun(run: RunInfo) {
  return { streamId: run.streamId, conversationId: run.conversationId, responseMessageId: run.responseMessageId, status: run.status, createdAt: run.createdAt };
}

/** The generation's identity as LibreChat's clients hold it: the run's start, in epoch milliseconds. */
export function generationCreatedAt(run: RunInfo): number {
  return Date.parse(run.createdAt);
}
