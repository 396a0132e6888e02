/**
 * Splits a page's text into pieces no larger than `maxPieceTokens`, each remembering how strongly it is
 * separated from the piece before (a paragraph, a line, a sentence, a word, or nothing when a single word
 * longer than the limit had to be cut) and the whitespace that separated them, so the chunker can cut at
 * the strongest boundary it can reach and rebuild the text exactly as written (whitespace normalised).
 */
export const BreakStrength = { MidWord: -1, Word: 0, Sentence: 1, Line: 2, Paragraph: 3, Page: 4 } as const;
export type BreakStrength = (typeof BreakStrength)[keyof typeof BreakStrength];

export interface TextPiece {
  text: string;
  tokens: number;
  strength: BreakStrength;
  /** What joins this piece to the previous one in a chunk's text. */
  separator: string;
}

// A sentence ends at . ! ? or an ellipsis (optionally followed by closing quotes or brackets) before
// whitespace, or right after a CJK full stop, which needs no space.
const sentenceEnd = /(?<=[.!?\u2026]["'\u201d\u2019)\]]*)\s+(?=\S)|(?<=[\u3002\uff01\uff1f])(?=\S)/u;

function separatorFor(strength: BreakStrength, whitespace: string): string {
  if (strength === BreakStrength.Paragraph || strength === BreakStrength.Page) return '\n\n';
  if (strength === BreakStrength.Line) return '\n';
  if (strength === BreakStrength.MidWord) return '';
  return whitespace.length > 0 ? ' ' : '';
}

/** A word longer than the limit (a URL, a base64 blob) is cut by characters: the only mid-word cut. */
function splitLongWord(word: string, maxTokens: number, countTokens: (text: string) => number): string[] {
  const parts: string[] = [];
  let rest = word;
  while (rest.length > 0) {
    let length = Math.min(rest.length, maxTokens * 4);
    while (length > 1 && countTokens(rest.slice(0, length)) > maxTokens) length = Math.floor(length / 2);
    // Never split a surrogate pair.
    if (length < rest.length && /[\ud800-\udbff]/.test(rest[length - 1]!)) length = Math.max(1, length - 1);
    parts.push(rest.slice(0, length));
    rest = rest.slice(length);
  }
  return parts;
}

type PushPiece = (text: string, tokens: number, strength: BreakStrength, whitespace: string) => void;

/** A sentence longer than the limit: groups of whole words, each within the limit. */
function splitSentence(sentence: string, maxTokens: number, countTokens: (text: string) => number, push: PushPiece, strength: BreakStrength, whitespace: string): void {
  let group = '';
  let groupTokens = 0;
  let nextStrength = strength;
  let nextWhitespace = whitespace;
  const emit = (text: string, tokens: number, joinedBy?: string) => {
    push(text, tokens, joinedBy === '' ? BreakStrength.MidWord : nextStrength, joinedBy ?? nextWhitespace);
    nextStrength = BreakStrength.Word;
    nextWhitespace = ' ';
  };
  const flush = () => {
    if (group) emit(group, groupTokens);
    group = '';
    groupTokens = 0;
  };
  for (const word of sentence.split(/\s+/)) {
    if (word === '') continue;
    const wordTokens = countTokens(word);
    if (wordTokens > maxTokens) {
      flush();
      splitLongWord(word, maxTokens, countTokens).forEach((slice, index) => emit(slice, countTokens(slice), index === 0 ? undefined : ''));
      continue;
    }
    const candidate = group ? `${group} ${word}` : word;
    const candidateTokens = group ? countTokens(candidate) : wordTokens;
    if (group && candidateTokens > maxTokens) {
      flush();
      group = word;
      groupTokens = wordTokens;
    } else {
      group = candidate;
      groupTokens = candidateTokens;
    }
  }
  flush();
}

export function segmentText(text: string, maxPieceTokens: number, countTokens: (text: string) => number, firstStrength: BreakStrength): TextPiece[] {
  const pieces: TextPiece[] = [];
  const push: PushPiece = (pieceText, tokens, strength, whitespace) => {
    const effective = pieces.length === 0 ? firstStrength : strength;
    pieces.push({ text: pieceText, tokens, strength: effective, separator: separatorFor(effective, whitespace) });
  };
  text.split(/\n[ \t]*\n\s*/).forEach((paragraph) => {
    paragraph.split('\n').forEach((line, lineIndex) => {
      // Trailing spaces go; leading ones stay (indentation in code and Markdown means something).
      const content = line.replace(/\s+$/, '');
      if (!content.trim()) return;
      const lineStrength = lineIndex === 0 ? BreakStrength.Paragraph : BreakStrength.Line;
      const sentences = content.split(sentenceEnd);
      const gaps = content.match(new RegExp(sentenceEnd.source, 'gu')) ?? [];
      sentences.forEach((sentence, sentenceIndex) => {
        const strength = sentenceIndex === 0 ? lineStrength : BreakStrength.Sentence;
        const whitespace = sentenceIndex === 0 ? '\n' : gaps[sentenceIndex - 1] ?? '';
        const tokens = countTokens(sentence);
        if (tokens <= maxPieceTokens) push(sentence, tokens, strength, whitespace);
        else splitSentence(sentence, maxPieceTokens, countTokens, push, strength, whitespace);
      });
    });
  });
  return pieces;
}
