/**
 * The `maxChars` cap shared by every page of one extraction: each extractor hands its text through
 * `take`, which cuts at the cap (on a word boundary) and remembers that it did, so extraction can stop.
 */
export class TextBudget {
  private used = 0;
  truncated = false;

  constructor(readonly maxChars: number) {}

  get exhausted(): boolean {
    return this.truncated || this.used >= this.maxChars;
  }

  get characters(): number {
    return this.used;
  }

  take(text: string): string {
    const room = this.maxChars - this.used;
    if (text.length <= room) {
      this.used += text.length;
      return text;
    }
    this.truncated = true;
    if (room <= 0) return '';
    let cut = text.slice(0, room);
    const lastSpace = cut.search(/\s\S*$/);
    // Cut on the last whitespace unless that would drop most of the room (one huge token).
    if (lastSpace > room / 2) cut = cut.slice(0, lastSpace);
    this.used += cut.length;
    return cut;
  }
}
