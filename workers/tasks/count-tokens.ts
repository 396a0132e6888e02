/**
 * Piscina task: token counts of long texts (workers/token-counter.ts counts short ones in its own thread).
 * Encoding a long prompt takes milliseconds of CPU, which must not stall the worker's event loop while
 * other replies stream.
 */
import { createO200kCounter } from './o200k-counter.ts';

const count = createO200kCounter();

export interface CountTokensTask {
  texts: string[];
}

export default function countTokens(task: CountTokensTask): number[] {
  return task.texts.map(count);
}
