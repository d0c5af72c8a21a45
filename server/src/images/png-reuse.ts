/**
 * Reusing a source PNG's compressed rows in a result that differs from it only in a band of rows:
 * the result's zlib stream is the source's own deflate blocks up to a block boundary before the
 * band, freshly compressed rows from there to a block boundary past it, and the source's blocks
 * again to the end. Deflating the unchanged rows again costs as much CPU as the model's whole run
 * on a small edit of a 4096² frame; finding the two boundaries costs only inflating the source as
 * far as the band's end, and nothing is compressed twice.
 *
 * Deflate blocks are bit-aligned and may refer up to 32 KiB back, so a boundary can be used when
 * (a) it lies on a byte (the new piece then starts or ends on it without shifting any bits), and
 * (b) for the source's blocks after the band, it lies at least 32 KiB past the last changed byte,
 * so their back references only ever read bytes the result shares with the source.
 *
 * No library exposes zlib's block stops (inflate with Z_BLOCK, as zlib's own zran.c uses them to
 * index a stream) at native speed: pako does in JavaScript at half zlib's speed, which would eat
 * most of the gain. Node's inflate engine does on its synchronous write, which its public API
 * keeps private; it is used when present and the result is encoded the ordinary way otherwise.
 * Whether a stop lies on a byte is not reported either: it is tested by inflating from that byte
 * with the window before it and comparing with what the source holds there.
 */
import { promisify } from 'node:util';
import { constants, crc32, createInflateRaw, deflateSync, inflateRaw, inflateRawSync } from 'node:zlib';
import { pngChunks } from '@pixels/shared';

const inflateRawAsync = promisify(inflateRaw);

/** The source's zlib stream, split where the result's own rows go in. */
export interface ReusedStream {
  /** The source's two zlib header bytes. */
  header: Uint8Array;
  /** The source's deflate blocks before the new piece, ended on a byte boundary. */
  prefix: Uint8Array[];
  /** The source's deflate blocks after the new piece through its final block, none when the piece runs to the end. */
  suffix: Uint8Array[];
  /** Where the new piece starts and ends in the filtered image bytes (row-major, a filter byte per row). */
  pieceFrom: number;
  pieceTo: number;
  /** The source's filtered bytes [pieceFrom, changedFrom) and [changedTo, pieceTo): the piece's unchanged ends. */
  before: Uint8Array;
  after: Uint8Array;
  /** Adler-32 of the source's filtered bytes over the whole piece, and of the whole stream. */
  sourcePieceAdler: number;
  sourceAdler: number;
  /** All the filtered bytes. */
  totalLength: number;
}

/** Ancillary chunks that leave the pixels as sharp decodes them (no colour profile, gamma or orientation). */
const PIXEL_NEUTRAL_CHUNKS = new Set(['IHDR', 'IDAT', 'IEND', 'tEXt', 'zTXt', 'iTXt', 'pHYs', 'tIME', 'sRGB']);

/**
 * The PNG's size and IDAT chunks when its filtered rows are those an 8-bit RGBA result would have:
 * 8-bit RGBA, not interlaced, and no chunk that makes the decoder change the pixels (a colour
 * profile, gamma, EXIF orientation). Undefined otherwise.
 */
function plainRgbaLayout(png: Uint8Array): { width: number; height: number; idat: Uint8Array[] } | undefined {
  const idat: Uint8Array[] = [];
  let size: { width: number; height: number } | undefined;
  try {
    for (const chunk of pngChunks(png)) {
      if (!PIXEL_NEUTRAL_CHUNKS.has(chunk.type)) return undefined;
      if (chunk.type === 'IHDR') {
        const view = new DataView(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
        const [bitDepth, colourType, compression, filter, interlace] = chunk.data.subarray(8, 13);
        const plain = bitDepth === 8 && colourType === 6 && compression === 0 && filter === 0 && interlace === 0;
        if (chunk.data.length !== 13 || !plain) return undefined;
        size = { width: view.getUint32(0), height: view.getUint32(4) };
      } else if (chunk.type === 'IDAT') {
        idat.push(chunk.data);
      }
    }
  } catch {
    return undefined;
  }
  return size && idat.length > 0 ? { ...size, idat } : undefined;
}

/** The source PNG's zlib stream when it is plain 8-bit RGBA (plainRgbaLayout) of `frame`'s size. */
function rgbaZlibStream(png: Uint8Array, frame: { width: number; height: number }): Uint8Array | undefined {
  const layout = plainRgbaLayout(png);
  if (!layout || layout.width !== frame.width || layout.height !== frame.height) return undefined;
  const { idat } = layout;
  const total = idat.reduce((sum, part) => sum + part.length, 0);
  let stream = idat[0];
  if (idat.length !== 1) {
    stream = new Uint8Array(total);
    let offset = 0;
    for (const part of idat) {
      stream.set(part, offset);
      offset += part.length;
    }
  }
  // CM 8 (deflate), no preset dictionary.
  return stream && stream.length >= 6 && (stream[0] & 0x0f) === 8 && (stream[1] & 0x20) === 0 ? stream : undefined;
}

/** One inflate call that stops at the end of each deflate block: Node's engine, through its private write. */
interface BlockInflater {
  /** Inflates from `input[inOff]` into `out[outOff]` up to the next block boundary; bytes used and made. */
  step(input: Uint8Array, inOff: number, out: Uint8Array, outOff: number): { used: number; made: number };
  close(): void;
}

interface InflateEngineInternals {
  _handle?: { writeSync?: (...args: unknown[]) => void };
  _writeState?: Uint32Array;
}

function openBlockInflater(): BlockInflater | undefined {
  const engine = createInflateRaw();
  let failed: unknown;
  engine.on('error', (error) => {
    failed = error;
  });
  const { _handle: handle, _writeState: state } = engine as unknown as InflateEngineInternals;
  const writeSync = handle?.writeSync;
  if (typeof writeSync !== 'function' || !(state instanceof Uint32Array) || state.length < 2) {
    engine.close();
    return undefined;
  }
  return {
    step(input, inOff, out, outOff) {
      const inLength = input.length - inOff;
      const outLength = out.length - outOff;
      // A data error destroys the engine at once (its 'error' event comes later): stop there.
      if (engine.destroyed) throw failed ?? new Error('the inflate engine was closed');
      writeSync.call(handle, constants.Z_BLOCK, input, inOff, inLength, out, outOff, outLength);
      if (failed || engine.destroyed) throw failed ?? new Error('the source stream is damaged');
      return { used: inLength - state[1], made: outLength - state[0] };
    },
    close: () => engine.close(),
  };
}

/** Adler-32 of `bytes`, by zlib (a stored zlib stream ends with it). */
function nativeAdler32(bytes: Uint8Array): number {
  const stream = deflateSync(bytes, { level: 0 });
  return stream.readUInt32BE(stream.length - 4);
}

function readUint32(bytes: Uint8Array, at: number): number {
  return new DataView(bytes.buffer, bytes.byteOffset + at, 4).getUint32(0);
}

/** How much of what follows a block stop is compared to find the bit its next block starts at. */
const PROBE_BYTES = 4096;
/** Deflate's window: how far back a block may refer. */
const WINDOW = 32 << 10;

/** `length` bytes of `bytes` read from bit `bit` on (deflate packs bits from the low end of each byte). */
function bitsFrom(bytes: Uint8Array, bit: number, length: number): Uint8Array {
  const first = bit >> 3;
  const shift = bit & 7;
  const end = Math.min(bytes.length, first + length);
  if (shift === 0) return bytes.subarray(first, end);
  const out = new Uint8Array(end - first);
  for (let i = 0; i < out.length; i++) {
    out[i] = ((bytes[first + i] >> shift) | ((bytes[first + i + 1] ?? 0) << (8 - shift))) & 0xff;
  }
  return out;
}

/**
 * Whether a block of `deflate` starts at bit `bit`, `outPos` filtered bytes in: inflated from there
 * with the window before it, it must give the bytes the source holds there.
 */
function startsBlockAt(deflate: Uint8Array, bit: number, inflated: Uint8Array, outPos: number, made: number) {
  const expected = Math.min(PROBE_BYTES, made - outPos);
  if (expected <= 0) return false;
  let probe: Buffer;
  try {
    probe = inflateRawSync(bitsFrom(deflate, bit, 4 * PROBE_BYTES + 1024), {
      dictionary: inflated.subarray(Math.max(0, outPos - WINDOW), outPos),
      finishFlush: constants.Z_SYNC_FLUSH,
    });
  } catch {
    return false;
  }
  if (probe.length < expected) return false;
  for (let i = 0; i < expected; i++) if (probe[i] !== inflated[outPos + i]) return false;
  return true;
}

/** Where a block stop of the inflater lies: `inOff` bytes were read, and up to 7 bits of the last ones are unused. */
interface Stop {
  inOff: number;
  outPos: number;
}

/** The bit the block after `stop` starts at, when one of the 8 candidates decodes to the source's bytes. */
function exactBit(deflate: Uint8Array, stop: Stop, inflated: Uint8Array, made: number): number | undefined {
  if (stop.outPos === 0) return 0;
  for (let unused = 0; unused < 8; unused++) {
    const bit = 8 * stop.inOff - unused;
    if (startsBlockAt(deflate, bit, inflated, stop.outPos, made)) return bit;
  }
  return undefined;
}

/** Bits written from the low end of each byte, as deflate packs them. */
class BitWriter {
  readonly bytes: number[] = [];
  private bit = 0;

  write(value: number, count: number): void {
    for (let i = 0; i < count; i++) {
      if ((this.bit & 7) === 0) this.bytes.push(0);
      if ((value >> i) & 1) this.bytes[this.bytes.length - 1] |= 1 << (this.bit & 7);
      this.bit++;
    }
  }
}

/** An empty block with fixed codes: 3 header bits and the 7-bit end-of-block code, 10 bits. */
function writeEmptyFixedBlock(bits: BitWriter): void {
  bits.write(0b010, 3); // not final, type 1
  bits.write(0, 7);
}

/**
 * An empty block with dynamic codes, 95 bits: the one odd-length block that holds no data. Its
 * literal/length code has two symbols (0 and end-of-block) and its distance code two, each of
 * length 1, so both are complete; the code-length code has two (1 and 18), sent in all 19 slots.
 */
function writeEmptyDynamicBlock(bits: BitWriter): void {
  bits.write(0b100, 3); // not final, type 2
  bits.write(0, 5); // 257 literal/length codes
  bits.write(1, 5); // 2 distance codes
  bits.write(15, 4); // 19 code-length codes, in the order 16 17 18 0 8 7 9 6 10 5 11 4 12 3 13 2 14 1 15
  for (const symbol of [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]) {
    bits.write(symbol === 1 || symbol === 18 ? 1 : 0, 3);
  }
  // Code-length symbols 1 → '0' and 18 → '1': literal 0 has length 1, 255 zeros (138 + 117),
  // end-of-block length 1, both distances length 1.
  bits.write(0, 1);
  bits.write(1, 1);
  bits.write(138 - 11, 7);
  bits.write(1, 1);
  bits.write(117 - 11, 7);
  bits.write(0, 3);
  bits.write(1, 1); // end of block: literal 0 is '0', end-of-block '1'
}

/**
 * The source's blocks from bit `bit` on, after a byte boundary: empty blocks (10 or 95 bits each)
 * first carry the stream to the bit within its byte where the source's next block starts, so the
 * source's bytes follow unshifted.
 */
function blocksFromBit(deflate: Uint8Array, bit: number): Uint8Array[] {
  const first = bit >> 3;
  const offset = bit & 7;
  if (offset === 0) return [deflate.subarray(first)];
  const bits = new BitWriter();
  let reached = 0;
  if (offset % 2 === 1) {
    writeEmptyDynamicBlock(bits);
    reached = 95 % 8;
  }
  for (; reached !== offset; reached = (reached + 2) % 8) writeEmptyFixedBlock(bits);
  const bridge = Uint8Array.from(bits.bytes);
  // Its last byte holds `offset` bits of the bridge and the rest of the source's byte.
  bridge[bridge.length - 1] |= deflate[first] & (0xff << offset) & 0xff;
  return [bridge, deflate.subarray(first + 1)];
}

/**
 * The source's blocks before bit `bit`, ended on a byte boundary the way a sync flush ends: an
 * empty stored block (3 zero bits, zero padding, then 00 00 FF FF).
 */
function blocksBeforeBit(deflate: Uint8Array, bit: number): Uint8Array[] {
  const whole = bit >> 3;
  const offset = bit & 7;
  if (offset === 0) return [deflate.subarray(0, whole)];
  const last = deflate[whole] & ((1 << offset) - 1);
  const tail = offset <= 5 ? [last] : [last, 0];
  return [deflate.subarray(0, whole), Uint8Array.from([...tail, 0x00, 0x00, 0xff, 0xff])];
}

/**
 * Splits the source PNG's stream for a result whose filtered bytes differ from the source's only in
 * [changedFrom, changedTo) (`changedTo` at most the end); undefined when the source cannot be
 * reused (see rgbaZlibStream) or the engine's block stops are not available. Inflates the source
 * as far as the first usable block boundary past the change and deflate's window, no further.
 */
export function splitSourceStream(
  png: Uint8Array,
  frame: { width: number; height: number },
  changedFrom: number,
  changedTo: number,
): ReusedStream | undefined {
  return splitAndInflateSource(png, frame, changedFrom, changedTo)?.stream;
}

/** splitSourceStream's split with what it inflated on the way. */
export interface InflatedSplit {
  stream: ReusedStream;
  /**
   * The source's filtered scanlines (a filter byte and the row's bytes, row after row), inflated
   * over [0, stream.pieceTo) at least; the buffer is the whole frame's size, and past what was
   * inflated its pages were never touched.
   */
  scanlines: Uint8Array;
  /**
   * Checks the part of the source the split did not read: inflates its stream past pieceTo (on
   * zlib's thread) to the frame's exact length and checks every IDAT chunk's CRC, as a decoder
   * reading the whole source would. Rejects when the source is damaged.
   */
  checkRest(): Promise<void>;
}

/** splitSourceStream, keeping the scanlines it inflated (see InflatedSplit). */
export function splitAndInflateSource(
  png: Uint8Array,
  frame: { width: number; height: number },
  changedFrom: number,
  changedTo: number,
): InflatedSplit | undefined {
  return beginSourceInflate(png)?.split(frame, changedFrom, changedTo);
}

/**
 * A source PNG's stream inflated from its start block by block, each block's end recorded, so it
 * can be begun before the changing rows are known and split once they are.
 */
export interface SourceInflate {
  /** Inflates at least `bytes` more filtered bytes (to a block's end); false once nothing is left to do. */
  advance(bytes: number): boolean;
  /**
   * splitAndInflateSource's split for a frame of the source's size (undefined for any other),
   * inflating on as far as it needs; ends the inflate.
   */
  split(frame: { width: number; height: number }, changedFrom: number, changedTo: number): InflatedSplit | undefined;
  /** Ends the inflate (a split ends it too). */
  close(): void;
}

/**
 * Begins inflating a source PNG's stream; undefined when it cannot be reused (see rgbaZlibStream),
 * the engine's block stops are not available, or its header claims more than `maxPixels` pixels
 * (the caller's decode refuses such a source by name; nothing is allocated for it here).
 */
export function beginSourceInflate(png: Uint8Array, maxPixels = Number.POSITIVE_INFINITY): SourceInflate | undefined {
  const layout = plainRgbaLayout(png);
  if (!layout || layout.width * layout.height > maxPixels) return undefined;
  const stream = rgbaZlibStream(png, layout);
  if (!stream) return undefined;
  const inflater = openBlockInflater();
  if (!inflater) return undefined;
  const totalLength = layout.height * (layout.width * 4 + 1);
  const deflate = stream.subarray(2, stream.length - 4);
  // Untouched pages of this buffer are never mapped: only what is inflated counts.
  const inflated = new Uint8Array(totalLength);
  const stops: Stop[] = [{ inOff: 0, outPos: 0 }];
  let inOff = 0;
  let made = 0;
  let ended = false;
  const close = () => {
    if (!ended) inflater.close();
    ended = true;
  };
  /** One block more; false at the stream's end, or once it is found damaged (then ended). */
  const step = (): boolean => {
    if (ended || made >= totalLength || inOff >= deflate.length) return false;
    try {
      const { used, made: count } = inflater.step(deflate, inOff, inflated, made);
      if (used === 0 && count === 0) throw new Error('the inflate made no progress');
      inOff += used;
      made += count;
    } catch {
      close();
      return false;
    }
    if (made < totalLength) stops.push({ inOff, outPos: made });
    return true;
  };
  const split = (changedFrom: number, changedTo: number): InflatedSplit | undefined => {
    if (changedFrom < 0 || changedTo > totalLength || changedTo < changedFrom) return undefined;
    // Inflating is several times cheaper than deflating, so below about a quarter of the frame left
    // to reuse, finding the boundaries costs about what reusing saves. An edit as tall as the frame
    // leaves nothing at all, and inflating its source anyway was not free: the server's stall while
    // 8 clients downloaded such a result rose from a median of 20 ms to 27 (8 alternating runs).
    if (changedFrom + Math.max(0, totalLength - changedTo - WINDOW) < totalLength / 4) return undefined;
    while (made <= changedFrom && step()) {}
    if (ended || made <= changedFrom) return undefined;
    // The last stop at or before the change whose bit is found (the stream's start always is).
    let prefix: { stop: Stop; bit: number } | undefined;
    for (let k = stops.length - 1; k >= 0 && !prefix; k--) {
      if (stops[k].outPos > changedFrom) continue;
      const bit = exactBit(deflate, stops[k], inflated, made);
      if (bit !== undefined) prefix = { stop: stops[k], bit };
    }
    if (!prefix) return undefined;
    // The first stop far enough past the change whose bit is found, tried once what follows it is
    // inflated (or the stream has ended); none when the piece runs to the end.
    let suffix: { stop: Stop; bit: number } | undefined;
    for (let k = 0; !suffix; k++) {
      while (k >= stops.length && step()) {}
      if (k >= stops.length) break;
      const stop = stops[k];
      if (stop.outPos < changedTo + WINDOW) continue;
      while (stop.outPos + PROBE_BYTES > made && step()) {}
      if (ended) return undefined;
      const bit = exactBit(deflate, stop, inflated, made);
      if (bit !== undefined) suffix = { stop, bit };
    }
    const pieceFrom = prefix.stop.outPos;
    const pieceTo = suffix?.stop.outPos ?? totalLength;
    if (ended || made < pieceTo) return undefined;
    const reused: ReusedStream = {
      header: stream.subarray(0, 2),
      prefix: blocksBeforeBit(deflate, prefix.bit),
      suffix: suffix ? blocksFromBit(deflate, suffix.bit) : [],
      pieceFrom,
      pieceTo,
      before: inflated.slice(pieceFrom, changedFrom),
      after: inflated.slice(changedTo, pieceTo),
      sourcePieceAdler: nativeAdler32(inflated.subarray(pieceFrom, pieceTo)),
      sourceAdler: readUint32(stream, stream.length - 4),
      totalLength,
    };
    return { stream: reused, scanlines: inflated, checkRest: () => checkRest(png, reused, inflated) };
  };
  return {
    advance(bytes) {
      const until = made + bytes;
      while (made < until) if (!step()) return false;
      return true;
    },
    split(frame, changedFrom, changedTo) {
      try {
        if (frame.width !== layout.width || frame.height !== layout.height) return undefined;
        return split(changedFrom, changedTo);
      } finally {
        close();
      }
    },
    close,
  };
}

/** Every IDAT chunk's CRC, by zlib's native CRC-32 (tens of megabytes at 4096²). */
function checkIdatCrcs(png: Uint8Array): void {
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  for (const chunk of pngChunks(png)) {
    if (chunk.type !== 'IDAT') continue;
    const end = chunk.offset + 8 + chunk.data.length;
    if (crc32(png.subarray(chunk.offset + 4, end)) !== view.getUint32(end)) {
      throw new Error(`the IDAT chunk at byte ${chunk.offset} fails its CRC`);
    }
  }
}

async function checkRest(png: Uint8Array, reused: ReusedStream, scanlines: Uint8Array): Promise<void> {
  checkIdatCrcs(png);
  if (reused.suffix.length === 0) return; // the split inflated the stream to its end
  const expected = reused.totalLength - reused.pieceTo;
  // One output buffer for all of it, so zlib's thread runs it in one go: the main thread may be
  // busy with the model meanwhile, and a stream of small buffers would wait for it between each.
  const rest = await inflateRawAsync(Buffer.concat(reused.suffix), {
    dictionary: scanlines.subarray(reused.pieceTo - WINDOW, reused.pieceTo),
    chunkSize: expected + 1,
  });
  if (rest.length !== expected) {
    throw new Error(
      `the stream holds ${reused.pieceTo + rest.length} filtered bytes, not the frame's ${reused.totalLength}`,
    );
  }
}

const ADLER_BASE = 65521;

/**
 * Adler-32 of the source's filtered bytes with the piece replaced by one of the same length whose
 * Adler-32 is `pieceAdler`. Adler-32 is two sums: A = 1 + Σ bytes and B = Σ of A after each byte,
 * so a byte's weight in B is how many bytes follow it plus one; replacing the piece changes A by
 * the change of its byte sum, and B by the change of its own weighted sum plus the change of its
 * byte sum times the bytes after it.
 */
export function replacedAdler32(reused: ReusedStream, pieceAdler: number): number {
  const length = reused.pieceTo - reused.pieceFrom;
  const after = (reused.totalLength - reused.pieceTo) % ADLER_BASE;
  const mod = (value: number) => ((value % ADLER_BASE) + ADLER_BASE) % ADLER_BASE;
  const sumOf = (adler: number) => mod((adler & 0xffff) - 1);
  const weightedOf = (adler: number) => mod((adler >>> 16) - length);
  const sumChange = mod(sumOf(pieceAdler) - sumOf(reused.sourcePieceAdler));
  const weightedChange = mod(weightedOf(pieceAdler) - weightedOf(reused.sourcePieceAdler));
  const a = mod((reused.sourceAdler & 0xffff) + sumChange);
  const b = mod((reused.sourceAdler >>> 16) + weightedChange + after * sumChange);
  return ((b << 16) | a) >>> 0;
}
