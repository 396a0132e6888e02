/**
 * Piscina task: token counts with the o200k_base encoding (GPT-4o family) from js-tiktoken, pure
 * JavaScript, so it runs on a worker thread without native code. Encoding a long prompt takes
 * milliseconds of CPU, which must not stall the worker's event loop while other replies stream.
 */
import { Tiktoken } from 'js-tiktoken/lite';
import o200kBase from 'js-tiktoken/ranks/o200k_base';

const encoder = new Tiktoken(o200kBase);

export interface CountTokensTask {
  texts: string[];
}

export default function countTokens(task: CountTokensTask): number[] {
  return task.texts.map((text) => encoder.encode(text).length);
}
