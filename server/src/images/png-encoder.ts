/**
 * A PNG encoder for large frames: libvips writes PNG on one thread with a slow deflate (about 6 s
 * for a 4096² photo here), which would dwarf the model's time on a small edit of a big canvas.
 * This one filters every row with Up (cheap, and on photographs far smaller than no filter) and
 * deflates bands of rows in parallel on Node's zlib thread pool, joining the raw streams at byte boundaries the
 * way pigz does (each band ends in a sync flush). Node's own zlib does the compression, the
 * Adler-32 and the CRC-32 (the chunks are built by the shared PNG chunk module); no new dependency. The output is an ordinary 8-bit PNG, decoded by any reader.
 */
import { promisify } from 'node:util';
import { constants, crc32, createDeflate, deflateRaw } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk, filterRowsUp } from '@pixels/shared';
import {
  type InflatedSplit,
  type ReusedStream,
  replacedAdler32,
  type SourceInflate,
  splitSourceStream,
} from './png-reuse.ts';

const deflateRawAsync = promisify(deflateRaw);

export interface PngPixels {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  /** 1 grey, 3 RGB, 4 RGBA. */
  readonly channels: 1 | 3 | 4;
}

export interface PngEncodeOptions {
  /** zlib level, 1 (fast) to 9 (small). Default 1: with the Up filter still smaller than libvips' unfiltered level 6. */
  level?: number;
  /** Rows per band compressed on its own; default: enough for about 2 MiB of pixels. */
  rowsPerBand?: number;
  /**
   * The PNG these pixels were decoded from, for beginPngEncode: where it is 8-bit RGBA with
   * nothing that changes pixels on decoding, its compressed rows outside the changing ones are reused.
   */
  source?: Uint8Array;
  /** The same already split for these changing rows of RGBA pixels (splitSourceForRows). */
  reused?: ReusedStream;
}

const COLOUR_TYPE = { 1: 0, 3: 2, 4: 6 } as const;
const ADLER_BASE = 65521;

/** Adler-32 of one byte range (the fallback when zlib's own checksum cannot be read off its stream). */
function adler32(bytes: Uint8Array): number {
  let a = 1;
  let b = 0;
  // 5552 bytes is the most zlib sums before b could overflow 2^32.
  for (let start = 0; start < bytes.length; start += 5552) {
    const end = Math.min(bytes.length, start + 5552);
    for (let i = start; i < end; i++) {
      a += bytes[i];
      b += a;
    }
    a %= ADLER_BASE;
    b %= ADLER_BASE;
  }
  return ((b << 16) | a) >>> 0;
}

/** Adler-32 of two ranges joined, from each one's checksum and the second's length (zlib's adler32_combine). */
function combineAdler32(first: number, second: number, secondLength: number): number {
  const remainder = secondLength % ADLER_BASE;
  let sum1 = first & 0xffff;
  let sum2 = (remainder * sum1) % ADLER_BASE;
  sum1 += (second & 0xffff) + ADLER_BASE - 1;
  sum2 += (first >>> 16) + (second >>> 16) + ADLER_BASE - remainder;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum1 >= ADLER_BASE) sum1 -= ADLER_BASE;
  if (sum2 >= 2 * ADLER_BASE) sum2 -= 2 * ADLER_BASE;
  if (sum2 >= ADLER_BASE) sum2 -= ADLER_BASE;
  return ((sum2 << 16) | sum1) >>> 0;
}

/** Rows [from, to), filtered and deflated as one piece of the image's zlib stream. */
interface CompressedRows {
  from: number;
  deflated: Uint8Array;
  adler: number;
  length: number;
}

/** What zlib writes after a sync flush when the stream is then finished with no more input. */
const SYNC_MARKER = [0x00, 0x00, 0xff, 0xff];
const EMPTY_FINAL_BLOCK = [0x03, 0x00];

/**
 * zlib's output buffer per step of a band: a step is one job on zlib's thread pool, and the next
 * waits for the main thread to take its output. 256 KiB holds a third of a photo's 2 MiB band
 * (Node's default 16 KiB, a fortieth); larger buffers, one per band in flight, cost garbage
 * collections (V8 counts them as external memory).
 */
const OUTPUT_CHUNK = 256 << 10;

/**
 * One band through a zlib-format stream, sync-flushed and then finished: the stream is then
 * header (2 bytes), the band's blocks ending in the sync marker, an empty final block (2 bytes)
 * and the band's Adler-32, which zlib computed on its own thread. Read off that way, no JavaScript
 * pass over the band's bytes is needed for the checksum (a quarter of a second at 4096²).
 *
 * While the model runs, the main thread takes zlib's output only between steps: with 16 KiB
 * buffers a band begun before the run barely moved (measured at 4096²: not one of the 28 bands
 * begun before the model had finished when it did); with OUTPUT_CHUNK each moves a third per step.
 */
function deflateBand(filtered: Uint8Array, level: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const deflate = createDeflate({ level, flush: constants.Z_SYNC_FLUSH, chunkSize: OUTPUT_CHUNK });
    const chunks: Buffer[] = [];
    deflate.on('data', (chunk: Buffer) => chunks.push(chunk));
    deflate.on('error', reject);
    deflate.on('end', () => {
      const joined = Buffer.concat(chunks);
      resolve(new Uint8Array(joined.buffer, joined.byteOffset, joined.length));
    });
    deflate.write(filtered, () => deflate.end());
  });
}

/** The slower way, should a zlib build end its streams otherwise: raw deflate, checksum in JavaScript. */
async function compressRowsRaw(
  from: number,
  filtered: Uint8Array,
  isLast: boolean,
  level: number,
): Promise<CompressedRows> {
  const deflated = await deflateRawAsync(filtered, {
    level,
    finishFlush: isLast ? constants.Z_FINISH : constants.Z_SYNC_FLUSH,
  });
  return {
    from,
    deflated: new Uint8Array(deflated.buffer, deflated.byteOffset, deflated.length),
    adler: adler32(filtered),
    length: filtered.length,
  };
}

function endsWith(bytes: Uint8Array, end: number, tail: readonly number[]): boolean {
  return tail.every((value, i) => bytes[end - tail.length + i] === value);
}

async function compressRows(pixels: PngPixels, from: number, to: number, level: number): Promise<CompressedRows> {
  return compressFiltered(from, filterRowsUp(pixels, from, to), to === pixels.height, level);
}

/** Filtered bytes as one piece of the image's zlib stream; `isLast` keeps the final block. */
async function compressFiltered(
  from: number,
  filtered: Uint8Array,
  isLast: boolean,
  level: number,
): Promise<CompressedRows> {
  const stream = await deflateBand(filtered, level);
  const body = stream.length - 4; // before the Adler-32
  const readable =
    stream.length >= 12 && endsWith(stream, body, [...SYNC_MARKER, ...EMPTY_FINAL_BLOCK]) && (stream[1] & 0x20) === 0;
  if (!readable) return compressRowsRaw(from, filtered, isLast, level);
  // Every piece but the last ends on the sync flush's byte boundary without the final-block bit,
  // so they join; the last keeps the empty final block that ends the image's stream.
  const deflated = stream.subarray(2, isLast ? body : body - EMPTY_FINAL_BLOCK.length);
  const adler = new DataView(stream.buffer, stream.byteOffset + body, 4).getUint32(0);
  return { from, deflated, adler, length: filtered.length };
}

/** Row ranges [from, to) cut into bands of at most `rows`. */
function bands(from: number, to: number, rows: number): [number, number][] {
  const out: [number, number][] = [];
  for (let start = from; start < to; start += rows) out.push([start, Math.min(to, start + rows)]);
  return out;
}

function combinedAdler(parts: CompressedRows[]): number {
  let adler = 1;
  for (const part of parts) adler = combineAdler32(adler, part.adler, part.length);
  return adler;
}

/** The PNG around a zlib stream given as pieces (header first, Adler-32 last), one IDAT chunk each. */
function assembleIdat(pixels: Omit<PngPixels, 'data'>, idat: Uint8Array[]): Uint8Array {
  // zlib's native CRC: a large result's IDAT runs to tens of megabytes.
  const header = { width: pixels.width, height: pixels.height, bitDepth: 8, colorType: COLOUR_TYPE[pixels.channels] };
  return assemblePng([
    buildIhdrChunk(header, crc32),
    ...idat.filter((part) => part.length > 0).map((part) => buildPngChunk('IDAT', part, crc32)),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}

function adlerBytes(adler: number): Uint8Array {
  const trailer = new Uint8Array(4);
  new DataView(trailer.buffer).setUint32(0, adler);
  return trailer;
}

function joinPng(pixels: PngPixels, parts: CompressedRows[]): Uint8Array {
  parts.sort((a, b) => a.from - b.from);
  const trailer = adlerBytes(combinedAdler(parts));
  return assembleIdat(pixels, [Uint8Array.from([0x78, 0x01]), ...parts.map((part) => part.deflated), trailer]);
}

/** A PNG encode begun early: `finish` compresses the rows that were still to change and joins all. */
export interface PendingPng {
  finish(): Promise<Uint8Array>;
}

/** Cuts `bytes` into pieces of about `size` bytes (views, not copies). */
function pieces(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let start = 0; start < bytes.length; start += size) out.push(bytes.subarray(start, start + size));
  return out.length > 0 ? out : [bytes];
}

/**
 * The result's stream from the source's (see png-reuse.ts): the source's blocks before and after a
 * piece around the changing rows, and the piece filtered and compressed anew at `finish`. `pixels`
 * holds the frame's rows from `top` on, at least from the row above `rows` to the last of them.
 */
function reuseSourceStream(
  frame: { width: number; height: number },
  pixels: PngPixels,
  top: number,
  reused: ReusedStream,
  rows: { from: number; to: number },
  level: number,
) {
  if (rows.from < top || (rows.from > 0 && rows.from === top) || rows.to > top + pixels.height) {
    throw new Error(
      `reuseSourceStream: rows ${rows.from} to ${rows.to} need rows the given ${pixels.height} from ${top} lack`,
    );
  }
  return {
    async finish() {
      // Relative to `top`: its first row is filtered as the frame's first only when it is (top 0).
      const filtered = filterRowsUp(pixels, rows.from - top, rows.to - top);
      const piece = new Uint8Array(reused.before.length + filtered.length + reused.after.length);
      piece.set(reused.before, 0);
      piece.set(filtered, reused.before.length);
      piece.set(reused.after, reused.before.length + filtered.length);
      const isLast = reused.suffix.length === 0;
      const slices = pieces(piece, 2 << 20);
      const parts = await Promise.all(
        slices.map((slice, k) => compressFiltered(k, slice, isLast && k === slices.length - 1, level)),
      );
      const trailer = adlerBytes(replacedAdler32(reused, combinedAdler(parts)));
      return assembleIdat({ ...frame, channels: pixels.channels }, [
        reused.header,
        ...reused.prefix,
        ...parts.map((part) => part.deflated),
        ...reused.suffix,
        trailer,
      ]);
    },
  };
}

/** The rows `finish` encodes: the changing ones and the one below them, filtered against the last of them. */
function rowsToEncodeLate(frame: { height: number }, changing: { from: number; to: number }) {
  const from = Math.max(0, Math.min(frame.height, changing.from));
  return { from, to: Math.min(frame.height, Math.max(from, changing.to + 1)) };
}

/** rowsToEncodeLate as a range of an RGBA frame's filtered stream (each row a filter byte and its pixels). */
function bytesToEncodeLate(frame: { width: number; height: number }, changing: { from: number; to: number }) {
  const { from, to } = rowsToEncodeLate(frame, changing);
  const rowBytes = frame.width * 4 + 1;
  return { start: from * rowBytes, end: to * rowBytes };
}

/**
 * The source PNG's stream split around `changing` rows of an RGBA frame, for beginPngEncode's
 * `reused`: done apart from it while the pixels are still being decoded. Undefined when the
 * source cannot be reused (see splitSourceStream).
 */
export function splitSourceForRows(
  source: Uint8Array,
  frame: { width: number; height: number },
  changing: { from: number; to: number },
): ReusedStream | undefined {
  const { start, end } = bytesToEncodeLate(frame, changing);
  return splitSourceStream(source, frame, start, end);
}

/** splitSourceForRows from an inflate of the source begun earlier, keeping its scanlines (see InflatedSplit). */
export function splitInflateForRows(
  inflate: SourceInflate,
  frame: { width: number; height: number },
  changing: { from: number; to: number },
): InflatedSplit | undefined {
  const { start, end } = bytesToEncodeLate(frame, changing);
  return inflate.split(frame, start, end);
}

/** The rows of the frame an encode over the source's stream reads: from the one above `changing` to the one below. */
export function rowsReadOverSource(frame: { height: number }, changing: { from: number; to: number }) {
  const { from, to } = rowsToEncodeLate(frame, changing);
  return { from: Math.max(0, from - 1), to };
}

/**
 * The PNG of a frame that differs from its source PNG only in rows [changing.from, changing.to),
 * from the source's stream split for them (inflateSourceForRows) and `pixels`, the frame's rows
 * rowsReadOverSource gives, from `top` on: only those rows are filtered and compressed.
 */
export function encodeOverSource(
  frame: { width: number; height: number },
  pixels: PngPixels,
  top: number,
  changing: { from: number; to: number },
  reused: ReusedStream,
  level = 1,
): Promise<Uint8Array> {
  return reuseSourceStream(frame, pixels, top, reused, rowsToEncodeLate(frame, changing), level).finish();
}

/**
 * Begins encoding `pixels`, compressing every row outside `changing` now (in the background, on
 * zlib's threads) so that work overlaps whatever runs next; the caller may then change rows
 * [changing.from, changing.to) only, and calls `finish` once they are final. The row just below
 * the changing ones is filtered against the last of them, so it is left for `finish` too.
 *
 * With `options.source`, the PNG the pixels were decoded from, the rows outside `changing` are not
 * compressed at all where that PNG's own compressed rows can be reused (see png-reuse.ts). The
 * result's zlib checksum is derived from the source's, which neither sharp's decode (libpng) nor
 * the reuse checks: a source whose Adler-32 is wrong gives a result whose Adler-32 is wrong.
 */
export function beginPngEncode(
  pixels: PngPixels,
  changing: { from: number; to: number },
  options: PngEncodeOptions = {},
): PendingPng {
  const { width, height, channels } = pixels;
  const level = options.level ?? 1;
  const rowsPerBand = Math.max(1, options.rowsPerBand ?? Math.ceil((2 << 20) / (width * channels + 1)));
  const { from, to: lateTo } = rowsToEncodeLate(pixels, changing);
  const reused =
    options.reused ??
    (options.source && channels === 4 ? splitSourceForRows(options.source, pixels, changing) : undefined);
  if (reused) return reuseSourceStream(pixels, pixels, 0, reused, { from, to: lateTo }, level);
  const early = [...bands(0, from, rowsPerBand), ...bands(lateTo, height, rowsPerBand)].map(([a, b]) =>
    compressRows(pixels, a, b, level),
  );
  // Finished or not, nothing may reject unobserved (an edit that is canceled never calls finish).
  for (const part of early) part.catch(() => {});
  return {
    async finish() {
      const late = bands(from, lateTo, rowsPerBand).map(([a, b]) => compressRows(pixels, a, b, level));
      return joinPng(pixels, await Promise.all([...early, ...late]));
    },
  };
}

/** Encodes 8-bit pixels as PNG. */
export function encodePngParallel(pixels: PngPixels, options: PngEncodeOptions = {}): Promise<Uint8Array> {
  return beginPngEncode(pixels, { from: 0, to: pixels.height }, options).finish();
}
