import type { Position } from "../ast.ts";

interface Segment {
  offset: number;
  line: number;
  column: number;
}

/**
 * An instruction's text after joining its continuation lines, with a map back to where each character was
 * in the file, so that every word of the joined text keeps its real line and column.
 */
export class LogicalLine {
  text = "";
  private readonly segments: Segment[] = [];

  /** Appends `piece`, which starts at `line`:`column` in the file. */
  append(piece: string, line: number, column: number): void {
    this.segments.push({ offset: this.text.length, line, column });
    this.text += piece;
  }

  /** The file position of the character at `offset` (or just after the last one). */
  posAt(offset: number): Position {
    const segs = this.segments;
    if (segs.length === 0) return { line: 1, column: 1 };
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (segs[mid]!.offset <= offset) lo = mid;
      else hi = mid - 1;
    }
    // A segment that ends exactly at `offset` (an empty piece, or the end) maps to the next one's start.
    while (lo + 1 < segs.length && segs[lo + 1]!.offset === segs[lo]!.offset) lo++;
    const s = segs[lo]!;
    return { line: s.line, column: s.column + (offset - s.offset) };
  }
}
