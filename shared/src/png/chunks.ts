/**
 * PNG's container, written once for the server, the plugin and the tests: the signature, the
 * chunk walk and the chunk build with its CRC (PNG spec §5). Pixels are not decoded here; this is
 * plain code with no platform API, so it runs in Node and in the plugin's browser bundle alike.
 */

/** The eight bytes every PNG file starts with (§5.2). */
export const PNG_SIGNATURE: readonly number[] = Object.freeze([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** One chunk of a PNG file; `data` is a view into the file, `offset` where its length field starts. */
export interface PngChunk {
  type: string;
  data: Uint8Array;
  offset: number;
}

/** A checksum over a byte range, as `crc32` computes it; the server may pass zlib's native one. */
export type Crc32 = (bytes: Uint8Array) => number;

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 as PNG chunks use it (ISO 3309, §5.5), over `bytes`. */
export function crc32(bytes: Uint8Array): number {
  let crc = 0xffffffff;
  for (let i = 0; i < bytes.length; i++) crc = CRC_TABLE[(crc ^ bytes[i]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Whether `bytes` start with the PNG signature. */
export function hasPngSignature(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((value, index) => bytes[index] === value);
}

function typeAt(bytes: Uint8Array, offset: number): string {
  return String.fromCharCode(bytes[offset], bytes[offset + 1], bytes[offset + 2], bytes[offset + 3]);
}

/**
 * The chunks of a PNG file in order, each whole (length, type, data and CRC inside the file),
 * through IEND; the walk stops early at a chunk that runs past the end. CRCs are not checked.
 */
export function* pngChunks(bytes: Uint8Array): Generator<PngChunk> {
  if (!hasPngSignature(bytes)) {
    throw new Error(
      `Expected PNG bytes (starting with the PNG signature), got ${bytes.length} bytes of something else.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let offset = 8; offset + 12 <= bytes.length; ) {
    const length = view.getUint32(offset);
    const end = offset + 12 + length;
    if (end > bytes.length) return;
    const type = typeAt(bytes, offset + 4);
    yield { type, data: bytes.subarray(offset + 8, offset + 8 + length), offset };
    if (type === 'IEND') return;
    offset = end;
  }
}

/** Whether a PNG's structure is whole: the signature, then chunks that each fit, up to IEND. */
export function isWholePng(bytes: Uint8Array): boolean {
  if (!hasPngSignature(bytes)) return false;
  for (const chunk of pngChunks(bytes)) if (chunk.type === 'IEND') return true;
  return false;
}

/** One chunk: length, type, data, and the CRC over type and data (`checksum` defaults to `crc32`). */
export function buildPngChunk(type: string, data: Uint8Array, checksum: Crc32 = crc32): Uint8Array {
  if (!/^[A-Za-z]{4}$/.test(type)) throw new Error(`A PNG chunk type is four ASCII letters, got "${type}".`);
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, checksum(out.subarray(4, 8 + data.length)));
  return out;
}

/** What an IHDR chunk says (§11.2.2); `interlace` 0 is none, 1 is Adam7. */
export interface PngHeader {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace?: 0 | 1;
}

/** The IHDR chunk for `header` (compression and filter method 0, the only ones defined). */
export function buildIhdrChunk(header: PngHeader, checksum: Crc32 = crc32): Uint8Array {
  const data = new Uint8Array(13);
  const view = new DataView(data.buffer);
  view.setUint32(0, header.width);
  view.setUint32(4, header.height);
  data[8] = header.bitDepth;
  data[9] = header.colorType;
  data[12] = header.interlace ?? 0;
  return buildPngChunk('IHDR', data, checksum);
}

/** A PNG file: the signature followed by the given whole chunks, in order. */
export function assemblePng(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(8 + chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  out.set(PNG_SIGNATURE, 0);
  let offset = 8;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/**
 * Width and height from a PNG's IHDR chunk, which the spec puts first. Figma's main thread has no
 * image decoder, and an export's pixel size can differ from the layer's box, so the header is the truth.
 */
export function readPngSize(bytes: Uint8Array): { width: number; height: number } {
  if (!hasPngSignature(bytes) || bytes.length < 24 || typeAt(bytes, 12) !== 'IHDR') {
    throw new Error(
      `Expected PNG bytes (starting with the PNG signature and an IHDR chunk), got ${bytes.length} bytes of something else.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
