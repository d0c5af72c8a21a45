import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk } from '@pixels/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { decodeTruecolourPng } from '../../../plugin/src/png/png-decode-truecolour.ts';
import { encodePngNatively } from '../support/native-png.ts';
import { patternRaster } from '../support/test-images.ts';

const CHELSEA = new URL('../../fixtures/images/chelsea.png', import.meta.url);

/** A photo with real transparency: alpha falls off across the image. */
async function translucentPhoto(): Promise<{ data: Buffer; width: number; height: number }> {
  const { data, info } = await sharp(await readFile(CHELSEA))
    .ensureAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  for (let i = 0; i < info.width * info.height; i++) data[i * 4 + 3] = (i % info.width) % 256;
  return { data, width: info.width, height: info.height };
}

/** PNG rows filtered by the spec's forward filters (§9.2), row y with type y % 5: every type appears. */
function filterEveryWay(data: Uint8Array, width: number, height: number, bpp: number): Uint8Array {
  const stride = width * bpp;
  const out = new Uint8Array(height * (stride + 1));
  const at = (x: number, y: number) => (x < 0 || y < 0 ? 0 : data[y * stride + x]);
  for (let y = 0; y < height; y++) {
    const type = y % 5;
    out[y * (stride + 1)] = type;
    for (let x = 0; x < stride; x++) {
      const a = at(x - bpp, y);
      const b = at(x, y - 1);
      const c = at(x - bpp, y - 1);
      const p = a + b - c;
      const paeth =
        Math.abs(p - a) <= Math.abs(p - b) && Math.abs(p - a) <= Math.abs(p - c)
          ? a
          : Math.abs(p - b) <= Math.abs(p - c)
            ? b
            : c;
      const predictor = [0, a, b, (a + b) >> 1, paeth][type];
      out[y * (stride + 1) + 1 + x] = (at(x, y) - predictor) & 255;
    }
  }
  return out;
}

describe('decodeTruecolourPng', () => {
  it("gives fast-png's bytes for every filter type (None, Sub, Up, Average, Paeth), RGB and RGBA, alpha kept", async () => {
    const photo = await translucentPhoto();
    const raw = { raw: { width: photo.width, height: photo.height, channels: 4 as const } };
    const cases = [
      // libspng's adaptive filtering picks None, Sub, Up, Average and Paeth rows.
      await sharp(photo.data, raw).png({ adaptiveFiltering: true, compressionLevel: 9 }).toBuffer(),
      await sharp(photo.data, raw).removeAlpha().png({ adaptiveFiltering: true }).toBuffer(),
      await sharp(await readFile(CHELSEA))
        .png({ adaptiveFiltering: true })
        .toBuffer(),
      await encodePngNatively(patternRaster(301, 97, 128)),
      assemblePng([
        buildIhdrChunk({ width: photo.width, height: photo.height, bitDepth: 8, colorType: 6 }),
        buildPngChunk('IDAT', deflateSync(filterEveryWay(photo.data, photo.width, photo.height, 4))),
        buildPngChunk('IEND', new Uint8Array(0)),
      ]),
    ];
    for (const png of cases) {
      const bytes = new Uint8Array(png);
      const ours = await decodeTruecolourPng(bytes);
      expect(ours).not.toBeNull();
      const reference = await decodePng(bytes);
      expect({ width: ours!.width, height: ours!.height }).toEqual({
        width: reference.width,
        height: reference.height,
      });
      expect(Buffer.compare(Buffer.from(ours!.data), Buffer.from(reference.data))).toBe(0);
    }
  });

  it('reads a region, and image data split over several IDAT chunks', async () => {
    const raster = patternRaster(200, 150, 77);
    const rows = new Uint8Array(150 * (1 + 200 * 4));
    for (let y = 0; y < 150; y++) rows.set(raster.data.subarray(y * 800, (y + 1) * 800), y * 801 + 1);
    const compressed = deflateSync(rows);
    const third = Math.floor(compressed.length / 3);
    const png = assemblePng([
      buildIhdrChunk({ width: 200, height: 150, bitDepth: 8, colorType: 6 }),
      buildPngChunk('IDAT', compressed.subarray(0, third)),
      buildPngChunk('IDAT', compressed.subarray(third, 2 * third)),
      buildPngChunk('IDAT', compressed.subarray(2 * third)),
      buildPngChunk('IEND', new Uint8Array(0)),
    ]);
    const region = { x: 37, y: 81, width: 111, height: 64 };
    const ours = await decodeTruecolourPng(png, region);
    expect(Buffer.compare(Buffer.from(ours!.data), Buffer.from((await decodePng(png, region)).data))).toBe(0);
  });

  it('leaves palette, gray, 16-bit, interlaced and colour-keyed PNGs to fast-png', async () => {
    const photo = await readFile(CHELSEA);
    const others = [
      await sharp(photo).png({ palette: true }).toBuffer(),
      await sharp(photo).toColourspace('b-w').png().toBuffer(),
      await sharp(photo).toColourspace('rgb16').png().toBuffer(),
      await sharp(photo).png({ progressive: true }).toBuffer(),
      assemblePng([
        buildIhdrChunk({ width: 1, height: 1, bitDepth: 8, colorType: 2 }),
        buildPngChunk('tRNS', new Uint8Array([0, 0, 0, 0, 0, 0])),
        buildPngChunk('IDAT', deflateSync(new Uint8Array([0, 0, 0, 0]))),
        buildPngChunk('IEND', new Uint8Array(0)),
      ]),
    ];
    for (const png of others) expect(await decodeTruecolourPng(new Uint8Array(png))).toBeNull();
  });
});
