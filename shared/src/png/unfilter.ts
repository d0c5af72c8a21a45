/**
 * Undoing PNG's row filters (spec §9.2) for callers that inflate a PNG's stream themselves: the
 * server reads the rows of a source it reuses from the inflate it already ran to split the
 * source's stream, where a decoder library would inflate the stream again from its start.
 */

/** Filtered scanlines: each row a filter-type byte and then `stride` bytes. */
export interface Scanlines {
  readonly data: Uint8Array;
  /** Bytes per row, without the filter byte. */
  readonly stride: number;
  /** Bytes per complete pixel (1 to 8), how far back the Sub, Average and Paeth filters look. */
  readonly bytesPerPixel: number;
}

const NONE = 0;
const SUB = 1;
const UP = 2;
const AVERAGE = 3;
const PAETH = 4;

/**
 * The pixels of rows [from, to), `stride` bytes a row, row-major. A row is undone from the one
 * above it, so every row above `to` is undone on the way (in two rows of scratch, not kept); the
 * scanlines are left as they are. Throws on a filter type PNG does not define.
 */
export function unfilterRows(scanlines: Scanlines, from: number, to: number): Uint8Array {
  const { data, stride, bytesPerPixel } = scanlines;
  const rowBytes = stride + 1;
  if (from < 0 || to < from || to * rowBytes > data.length) {
    throw new Error(`unfilterRows: rows ${from} to ${to} of ${rowBytes} bytes each are not all in ${data.length}`);
  }
  const out = new Uint8Array((to - from) * stride);
  // Fresh buffers start on a word, so the Up filter (each byte plus the one above, the filter of
  // most rows in most encoders) can add four bytes at a time.
  let row = new Uint8Array(stride);
  let above = new Uint8Array(stride); // zeros: what the first row is filtered against
  for (let y = 0; y < to; y++) {
    const at = y * rowBytes;
    row.set(data.subarray(at + 1, at + rowBytes));
    undoFilter(data[at], row, above, bytesPerPixel);
    if (y >= from) out.set(row, (y - from) * stride);
    [row, above] = [above, row];
  }
  return out;
}

function undoFilter(type: number, row: Uint8Array, above: Uint8Array, bpp: number): void {
  const stride = row.length;
  if (type === NONE) {
    // the bytes are the pixels
  } else if (type === SUB) {
    for (let x = bpp; x < stride; x++) row[x] = (row[x] + row[x - bpp]) & 0xff;
  } else if (type === UP) {
    addAbove(row, above);
  } else if (type === AVERAGE) {
    for (let x = 0; x < bpp; x++) row[x] = (row[x] + (above[x] >> 1)) & 0xff;
    for (let x = bpp; x < stride; x++) row[x] = (row[x] + ((row[x - bpp] + above[x]) >> 1)) & 0xff;
  } else if (type === PAETH) {
    for (let x = 0; x < bpp; x++) row[x] = (row[x] + above[x]) & 0xff;
    for (let x = bpp; x < stride; x++) {
      const a = row[x - bpp];
      const b = above[x];
      const c = above[x - bpp];
      const pa = Math.abs(b - c);
      const pb = Math.abs(a - c);
      const pc = Math.abs(a + b - 2 * c);
      row[x] = (row[x] + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
    }
  } else {
    throw new Error(`The PNG has a row with filter type ${type}, which PNG does not define.`);
  }
}

/** Each byte plus the one above, mod 256: four at a time, a lane-wise addition without carries between the bytes. */
function addAbove(row: Uint8Array, above: Uint8Array): void {
  const words = row.length >> 2;
  const rowWords = new Uint32Array(row.buffer, row.byteOffset, words);
  const aboveWords = new Uint32Array(above.buffer, above.byteOffset, words);
  for (let i = 0; i < words; i++) {
    const a = rowWords[i];
    const b = aboveWords[i];
    rowWords[i] = (((a & 0x7f7f7f7f) + (b & 0x7f7f7f7f)) ^ ((a ^ b) & 0x80808080)) >>> 0;
  }
  for (let x = words << 2; x < row.length; x++) row[x] = (row[x] + above[x]) & 0xff;
}
