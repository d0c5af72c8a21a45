/**
 * The rows of a source PNG that an edit reads and writes, read without decoding the rest, for a
 * result made over the source's own stream (see png-reuse.ts): to find the blocks to reuse, the
 * split inflates the source as far as the changing rows' end, so their pixels are undone from what
 * it inflated (PNG's row filters, spec §9.2) instead of decoding the source a second time. The
 * rows above them are undone on the way, and nothing below is decoded; what the split did not
 * read is checked for damage on zlib's thread while the edit runs.
 *
 * Rows filtered with None, Sub or Up (ours filters every row with Up, as fast encoders do) undo
 * in a few milliseconds at 4096 px wide, Up four bytes at a time; Average and Paeth, which most
 * adaptive encoders mostly choose, go byte by byte through three neighbours in JavaScript, slower
 * than a native decoder, so such a source's rows are decoded by sharp (which stops after the last
 * of them) from the start again.
 */
import { unfilterRows } from '@pixels/shared';
import { decodeRgbaRows, type RawImage } from './codec.ts';
import { rowsReadOverSource, splitInflateForRows } from './png-encoder.ts';
import { beginSourceInflate, type ReusedStream } from './png-reuse.ts';
import type { FrameRows } from './raw-rect.ts';

/** A source's rows for an encode over its stream (png-encoder's encodeOverSource). */
export interface SourceRows {
  /** The source's pixels in the rows rowsReadOverSource gives: the changing ones and one each side. */
  rows: FrameRows;
  /** The source's stream split around the changing rows. */
  reused: ReusedStream;
  /** Settles once the part of the source that was not read is checked; rejects when it is damaged. */
  checked: Promise<void>;
}

const UP = 2;

/** Whether every row above `rows` has a filter that undoes quickly in JavaScript (None, Sub or Up). */
function hasQuickFilters(scanlines: Uint8Array, rowBytes: number, rows: number): boolean {
  for (let y = 0; y < rows; y++) if (scanlines[y * rowBytes] > UP) return false;
  return true;
}

/** Reads a source's rows for an edit, its stream inflated ahead while the edit's other inputs decode. */
export interface SourceReader {
  /**
   * The source's rows around `changing` and its stream split for them, or undefined when its
   * stream cannot be reused (see splitSourceStream) or its rows do not decode: the caller then
   * decodes the whole source, which names any damage. Ends the inflate ahead.
   */
  rowsFor(
    frame: { width: number; height: number },
    changing: { from: number; to: number },
  ): Promise<SourceRows | undefined>;
  /** Ends the inflate ahead, when no rows are wanted. */
  close(): void;
}

/** Filtered bytes inflated between two turns of the event loop ahead of rowsFor: a few milliseconds. */
const AHEAD_SLICE = 2 << 20;

/**
 * Begins reading a source PNG, or undefined when its stream cannot be reused or it has more than
 * `maxPixels` pixels (see beginSourceInflate). Until rowsFor, the stream is inflated from its
 * start in slices between the event loop's turns: the rows above the change are needed wherever
 * it lies, and the main thread would otherwise wait while sharp decodes the exemplars on its own.
 */
export function beginReadingSource(png: Uint8Array, maxPixels: number): SourceReader | undefined {
  const inflate = beginSourceInflate(png, maxPixels);
  if (!inflate) return undefined;
  let ahead = true;
  const inflateAhead = () => {
    if (ahead && inflate.advance(AHEAD_SLICE)) setImmediate(inflateAhead);
  };
  setImmediate(inflateAhead);
  const stop = () => {
    ahead = false;
    inflate.close();
  };
  return {
    async rowsFor(frame, changing) {
      ahead = false;
      const split = splitInflateForRows(inflate, frame, changing);
      if (!split) return undefined;
      const checked = split.checkRest();
      // Observed at once, so that an edit that stops early leaves no rejection unhandled; the
      // caller awaits `checked` itself.
      checked.catch(() => {});
      const { from, to } = rowsReadOverSource(frame, changing);
      const stride = frame.width * 4;
      let image: RawImage;
      try {
        image = hasQuickFilters(split.scanlines, stride + 1, to)
          ? {
              data: unfilterRows({ data: split.scanlines, stride, bytesPerPixel: 4 }, from, to),
              width: frame.width,
              height: to - from,
              channels: 4,
            }
          : await decodeRgbaRows(png, { top: from, height: to - from, width: frame.width }, maxPixels);
      } catch {
        return undefined;
      }
      return { rows: { image, top: from }, reused: split.stream, checked };
    },
    close: stop,
  };
}

/** beginReadingSource's rows for one change, read at once (no inflate ahead). */
export async function readSourceRows(
  png: Uint8Array,
  frame: { width: number; height: number },
  changing: { from: number; to: number },
  maxPixels: number,
): Promise<SourceRows | undefined> {
  return beginReadingSource(png, maxPixels)?.rowsFor(frame, changing);
}
