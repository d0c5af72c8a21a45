import { deflateSync } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk } from '@pixels/shared';

/** Test images built byte by byte, so the tests need no image library and can forge headers. */

const chunk = buildPngChunk;

function ihdr(width: number, height: number, colorType: 2 | 6): Uint8Array {
  return buildIhdrChunk({ width, height, bitDepth: 8, colorType });
}

/** An RGBA PNG filled by `color(x, y)` → [r, g, b, a]. */
export function encodePng(
  width: number,
  height: number,
  color: (x: number, y: number) => readonly [number, number, number, number] = (x, y) => [
    (x * 4) & 255,
    (y * 4) & 255,
    128,
    255,
  ],
): Uint8Array {
  const rows = Buffer.alloc(height * (1 + width * 4));
  for (let y = 0; y < height; y++) {
    const row = y * (1 + width * 4);
    for (let x = 0; x < width; x++) rows.set(color(x, y), row + 1 + x * 4);
  }
  return assemblePng([ihdr(width, height, 6), chunk('IDAT', deflateSync(rows)), chunk('IEND', new Uint8Array())]);
}

/** A gradient test image: distinct pixels, so edits visibly change something. */
export function gradientPng(width = 64, height = 64): Uint8Array {
  return encodePng(width, height);
}

/** A shape on transparency, like an exemplar layer exported from Figma. */
export function discPng(width = 64, height = 64): Uint8Array {
  return encodePng(width, height, (x, y) =>
    (x - width / 2) ** 2 + (y - height / 2) ** 2 < (width / 4) ** 2 ? [220, 40, 40, 255] : [0, 0, 0, 0],
  );
}

/**
 * A decompression bomb: a header claiming `side`x`side` RGB pixels, all zeros, which deflate to
 * almost nothing (a 20000x20000 bomb is ~1.2 MB on the wire but 1.2 GB decoded).
 */
export function bombPng(side: number): Uint8Array {
  const row = Buffer.alloc(1 + side * 3);
  const stream = deflateSync(Buffer.concat(Array.from({ length: Math.min(side, 64) }, () => row)), { level: 9 });
  // Only the header matters to a header check; the IDAT is a valid start of the zero stream.
  return assemblePng([ihdr(side, side, 2), chunk('IDAT', stream), chunk('IEND', new Uint8Array())]);
}

/** The first `keep` bytes of a PNG: a header that reads fine and a body that stops short. */
export function truncated(bytes: Uint8Array, keep = Math.floor(bytes.length / 2)): Uint8Array {
  return bytes.slice(0, keep);
}

/** A PNG whose structure is whole (every chunk fits, IEND at the end) but whose pixel data is garbage. */
export function damagedPixelsPng(width = 64, height = 64): Uint8Array {
  const garbage = Buffer.alloc(200, 0x5a);
  return assemblePng([ihdr(width, height, 6), chunk('IDAT', garbage), chunk('IEND', new Uint8Array())]);
}

/** Noise, which PNG cannot compress: about 4 bytes per pixel on the wire. */
export function noisePng(width: number, height: number, seed = 1): Uint8Array {
  let state = seed;
  const next = () => {
    state = (state * 1103515245 + 12345) & 0x7fffffff;
    return state >> 16;
  };
  return encodePng(width, height, () => [next() & 255, next() & 255, next() & 255, 255]);
}
