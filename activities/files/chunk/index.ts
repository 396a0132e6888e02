export { chunkDocument, type ChunkOptions, type DocumentChunk } from './chunk-document.ts';
export { countTokensO200k } from './count-tokens.ts';
