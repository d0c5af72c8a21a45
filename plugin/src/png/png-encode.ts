import { crc32 } from './crc32.ts';
import { deflate } from './deflate.ts';
import { applyFilter, filterLine } from './png-filters.ts';
import type { Raster } from './raster.ts';

const SIGNATURE = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
const COLOR_TYPE = { 1: 0, 4: 6 } as const;
/**
 * Neighbouring rows of an image compress best with the same filter, so the adaptive choice is made
 * on every 8th row and reused in between (about a third of the work of choosing per row).
 */
const CHOOSE_FILTER_EVERY = 8;

function chunk(type: string, body: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + body.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, body.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(body, 8);
  view.setUint32(8 + body.length, crc32(out, 4, 8 + body.length));
  return out;
}

/**
 * Encodes an 8-bit gray or RGBA raster as PNG, exactly (no premultiplied-alpha round trip as a
 * canvas would make), so exemplar alpha and map values reach the server as computed.
 */
export async function encodePng(raster: Raster): Promise<Uint8Array> {
  const { width, height, channels, data } = raster;
  if (data.length !== width * height * channels) {
    throw new Error(
      `encodePng: ${data.length} bytes do not make a ${width}x${height} image with ${channels} channels.`,
    );
  }
  const header = new Uint8Array(13);
  const view = new DataView(header.buffer);
  view.setUint32(0, width);
  view.setUint32(4, height);
  header[8] = 8;
  header[9] = COLOR_TYPE[channels];
  const lineBytes = width * channels;
  const filtered = new Uint8Array((lineBytes + 1) * height);
  const scratch = new Uint8Array(lineBytes);
  let previous: Uint8Array = new Uint8Array(lineBytes);
  let filter = 0;
  for (let y = 0; y < height; y++) {
    const line = data.subarray(y * lineBytes, (y + 1) * lineBytes);
    const out = filtered.subarray(y * (lineBytes + 1), (y + 1) * (lineBytes + 1));
    if (y % CHOOSE_FILTER_EVERY === 0) filter = filterLine(line, previous, channels, out, scratch);
    else {
      out[0] = filter;
      applyFilter(filter, line, previous, channels, out.subarray(1));
    }
    previous = line;
  }
  const parts = [
    SIGNATURE,
    chunk('IHDR', header),
    chunk('IDAT', await deflate(filtered)),
    chunk('IEND', new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}
