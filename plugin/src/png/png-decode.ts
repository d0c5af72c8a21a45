import { inflate } from './deflate.ts';
import { unfilterLine } from './png-filters.ts';
import type { Raster } from './raster.ts';

/** A PNG this decoder does not handle (interlaced); the panel falls back to the browser's decoder. */
export class UnsupportedPngError extends Error {
  override name = 'UnsupportedPngError';
}

const CHANNELS_OF_COLOR_TYPE: Record<number, number> = { 0: 1, 2: 3, 3: 1, 4: 2, 6: 4 };

interface Header {
  width: number;
  height: number;
  bitDepth: number;
  colorType: number;
  interlace: number;
}

/**
 * Decodes a PNG to 8-bit RGBA (not premultiplied): every color type and bit depth of the PNG
 * spec, transparency chunks included, except interlaced files. 16-bit samples keep their high byte.
 */
export async function decodePng(bytes: Uint8Array): Promise<Raster> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const signatureOk =
    bytes.length > 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47;
  if (!signatureOk)
    throw new Error(`Expected a PNG file, got ${bytes.length} bytes that do not start with the PNG signature.`);
  let header: Header | undefined;
  let palette: Uint8Array | undefined;
  let transparency: Uint8Array | undefined;
  const dataChunks: Uint8Array[] = [];
  let offset = 8;
  while (offset + 8 <= bytes.length) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(bytes[offset + 4], bytes[offset + 5], bytes[offset + 6], bytes[offset + 7]);
    const body = bytes.subarray(offset + 8, offset + 8 + length);
    if (body.length !== length) throw new Error(`The PNG is truncated inside its ${type} chunk.`);
    if (type === 'IHDR') {
      header = {
        width: view.getUint32(offset + 8),
        height: view.getUint32(offset + 12),
        bitDepth: body[8],
        colorType: body[9],
        interlace: body[12],
      };
    } else if (type === 'PLTE') palette = body;
    else if (type === 'tRNS') transparency = body;
    else if (type === 'IDAT') dataChunks.push(body);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  if (!header) throw new Error('The PNG has no IHDR chunk.');
  const channels = CHANNELS_OF_COLOR_TYPE[header.colorType];
  if (channels === undefined)
    throw new Error(`The PNG has color type ${header.colorType}; valid types are 0, 2, 3, 4 and 6.`);
  if (header.interlace !== 0) throw new UnsupportedPngError('Interlaced PNGs are decoded by the browser instead.');
  if (header.colorType === 3 && !palette) throw new Error('The PNG is indexed but has no palette.');

  const compressed = new Uint8Array(dataChunks.reduce((sum, part) => sum + part.length, 0));
  let position = 0;
  for (const part of dataChunks) {
    compressed.set(part, position);
    position += part.length;
  }
  const filtered = await inflate(compressed);
  const { width, height, bitDepth } = header;
  const lineBytes = Math.ceil((width * channels * bitDepth) / 8);
  const stride = Math.max(1, (channels * bitDepth) >> 3);
  if (filtered.length < (lineBytes + 1) * height) throw new Error('The PNG image data is shorter than its size says.');

  const out = new Uint8Array(width * height * 4);
  let previous: Uint8Array = new Uint8Array(lineBytes);
  for (let y = 0; y < height; y++) {
    const start = y * (lineBytes + 1);
    const line = filtered.subarray(start + 1, start + 1 + lineBytes);
    unfilterLine(filtered[start], line, previous, stride);
    writePixels(line, y, header, channels, palette, transparency, out);
    previous = line;
  }
  return { data: out, width, height, channels: 4 };
}

function sampleAt(line: Uint8Array, index: number, bitDepth: number): number {
  if (bitDepth === 8) return line[index];
  if (bitDepth === 16) return line[index * 2];
  const perByte = 8 / bitDepth;
  const byte = line[Math.floor(index / perByte)];
  const shift = 8 - bitDepth * ((index % perByte) + 1);
  return (byte >> shift) & ((1 << bitDepth) - 1);
}

/** Full 16-bit sample, for matching tRNS color keys exactly. */
function rawSampleAt(line: Uint8Array, index: number, bitDepth: number): number {
  return bitDepth === 16 ? (line[index * 2] << 8) | line[index * 2 + 1] : sampleAt(line, index, bitDepth);
}

function writePixels(
  line: Uint8Array,
  y: number,
  header: Header,
  channels: number,
  palette: Uint8Array | undefined,
  transparency: Uint8Array | undefined,
  out: Uint8Array,
): void {
  const { width, bitDepth, colorType } = header;
  const scaleToByte = bitDepth < 8 ? 255 / ((1 << bitDepth) - 1) : 1;
  const keyView = transparency
    ? new DataView(transparency.buffer, transparency.byteOffset, transparency.byteLength)
    : undefined;
  for (let x = 0; x < width; x++) {
    const o = (y * width + x) * 4;
    const first = x * channels;
    if (colorType === 3) {
      const index = sampleAt(line, first, bitDepth);
      out[o] = palette![index * 3];
      out[o + 1] = palette![index * 3 + 1];
      out[o + 2] = palette![index * 3 + 2];
      out[o + 3] = transparency && index < transparency.length ? transparency[index] : 255;
      continue;
    }
    if (colorType === 0 || colorType === 4) {
      const gray = Math.round(sampleAt(line, first, bitDepth) * scaleToByte);
      out[o] = out[o + 1] = out[o + 2] = gray;
      if (colorType === 4) out[o + 3] = sampleAt(line, first + 1, bitDepth);
      else out[o + 3] = keyView && rawSampleAt(line, first, bitDepth) === keyView.getUint16(0) ? 0 : 255;
      continue;
    }
    out[o] = sampleAt(line, first, bitDepth);
    out[o + 1] = sampleAt(line, first + 1, bitDepth);
    out[o + 2] = sampleAt(line, first + 2, bitDepth);
    if (colorType === 6) out[o + 3] = sampleAt(line, first + 3, bitDepth);
    else {
      const keyed =
        keyView &&
        rawSampleAt(line, first, bitDepth) === keyView.getUint16(0) &&
        rawSampleAt(line, first + 1, bitDepth) === keyView.getUint16(2) &&
        rawSampleAt(line, first + 2, bitDepth) === keyView.getUint16(4);
      out[o + 3] = keyed ? 0 : 255;
    }
  }
}
