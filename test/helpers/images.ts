import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, deflateSync } from 'node:zlib';
import { decodeRgba, encodePng, resizeRaw } from '@pixels/server/images/codec.ts';

export const FIXTURES_DIR = join(import.meta.dirname, '..', 'fixtures', 'images');

export function fixture(name: 'brick' | 'chelsea' | 'coffee' | 'grass' | 'gravel'): Uint8Array {
  return new Uint8Array(readFileSync(join(FIXTURES_DIR, `${name}.png`)));
}

/** A fixture cropped and scaled to width x height, as PNG (with an alpha channel from `alpha` when given). */
export async function fixtureAt(
  name: Parameters<typeof fixture>[0],
  width: number,
  height = width,
  alpha?: (x: number, y: number) => number,
): Promise<Uint8Array> {
  const image = await resizeRaw(await decodeRgba(fixture(name), 1 << 26), width, height, 'cover');
  const data = new Uint8Array(image.data);
  for (let i = 0; i < width * height; i++) {
    data[i * 4 + 3] = alpha ? Math.round(255 * alpha(i % width, Math.floor(i / width))) : 255;
  }
  return encodePng({ data, width, height, channels: 4 });
}

/** A solid-colour PNG. */
export async function solidPng(width: number, height: number, grey: number): Promise<Uint8Array> {
  return encodePng({ data: new Uint8Array(width * height * 3).fill(grey), width, height, channels: 3 });
}

function chunk(type: string, data: Uint8Array): Buffer {
  const out = Buffer.alloc(12 + data.length);
  out.writeUInt32BE(data.length, 0);
  out.write(type, 4, 'ascii');
  Buffer.from(data).copy(out, 8);
  out.writeUInt32BE(crc32(out.subarray(4, 8 + data.length)), 8 + data.length);
  return out;
}

/**
 * A valid PNG that claims `width` x `height` pixels but carries a few bytes of zlib data that
 * inflate to all of them: a decompression bomb, refused from its header.
 */
export function bombPng(width: number, height: number): Uint8Array {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 1; // bit depth 1
  header[9] = 0; // greyscale
  const rowBytes = Math.ceil(width / 8) + 1;
  const rows = Math.min(height, 64); // enough real data to be a plausible start; the rest would follow
  const idat = deflateSync(Buffer.alloc(rowBytes * rows));
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([137, 80, 78, 71, 13, 10, 26, 10]),
      chunk('IHDR', header),
      chunk('IDAT', idat),
      chunk('IEND', new Uint8Array(0)),
    ]),
  );
}
