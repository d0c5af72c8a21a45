/**
 * The panel's native decode path in real Chromium: where it is taken (8-bit truecolour, every
 * pixel opaque, no colour chunk) it gives fast-png's bytes exactly; everywhere else it declines,
 * and the panel decodes with fast-png.
 */
import { readFile } from 'node:fs/promises';
import { deflateSync } from 'node:zlib';
import { assemblePng, buildIhdrChunk, buildPngChunk, pngChunks } from '@pixels/shared';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PixelRect } from '../../../plugin/src/common/export-sizing.ts';
import { cropRaster, decodePng } from '../../../plugin/src/png/png-decode.ts';
import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import { launchChromium } from '../support/chromium.ts';
import { encodePngNatively } from '../support/native-png.ts';
import { patternRaster, pixelAt, rasterFrom } from '../support/test-images.ts';

let browser: Awaited<ReturnType<typeof launchChromium>>;
let page: Awaited<ReturnType<Awaited<ReturnType<typeof launchChromium>>['context']['newPage']>>;

beforeAll(async () => {
  const bundle = await build({
    stdin: {
      contents:
        "import { decodePngNatively } from './plugin/src/png/png-decode-native.ts'; globalThis.decodePngNatively = decodePngNatively;",
      resolveDir: process.cwd(),
      loader: 'ts',
    },
    bundle: true,
    format: 'iife',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  browser = await launchChromium();
  page = await browser.context.newPage();
  await page.setContent('<!doctype html><title>decode</title>');
  await page.addScriptTag({ content: bundle.outputFiles[0].text });
}, 60_000);

afterAll(async () => {
  await browser?.close();
});

/** The native decode in the page: its RGBA bytes, or null where it declines. */
async function decodeInChromium(png: Uint8Array, region?: PixelRect): Promise<Uint8Array | null> {
  const result = await page.evaluate(
    async ([base64, region]) => {
      const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
      const decode = (
        globalThis as unknown as {
          decodePngNatively(b: Uint8Array, r?: PixelRect): Promise<{ data: Uint8Array } | null>;
        }
      ).decodePngNatively;
      const raster = await decode(bytes, region ?? undefined);
      if (!raster) return null;
      let text = '';
      for (let i = 0; i < raster.data.length; i += 0x8000)
        text += String.fromCharCode(...raster.data.subarray(i, i + 0x8000));
      return btoa(text);
    },
    [Buffer.from(png).toString('base64'), region ?? null] as const,
  );
  return result === null ? null : new Uint8Array(Buffer.from(result, 'base64'));
}

/** `png` with an extra chunk just after IHDR. */
function withChunk(png: Uint8Array, type: string, body: number[]): Uint8Array {
  const chunks = [...pngChunks(png)].map((chunk) => buildPngChunk(chunk.type, chunk.data.slice()));
  return assemblePng([chunks[0], buildPngChunk(type, new Uint8Array(body)), ...chunks.slice(1)]);
}

describe('the native PNG decode in Chromium', () => {
  it('gives fast-png’s bytes exactly for opaque RGB and RGBA images', async () => {
    const photo = new Uint8Array(await readFile(new URL('../../fixtures/images/chelsea.png', import.meta.url)));
    const rgb = await decodePng(photo);
    const rows = Buffer.alloc(rgb.height * (1 + rgb.width * 3));
    for (let y = 0; y < rgb.height; y++)
      for (let x = 0; x < rgb.width; x++)
        for (let c = 0; c < 3; c++)
          rows[y * (1 + rgb.width * 3) + 1 + x * 3 + c] = rgb.data[(y * rgb.width + x) * 4 + c];
    const cases = [
      assemblePng([
        buildIhdrChunk({ width: rgb.width, height: rgb.height, bitDepth: 8, colorType: 2 }),
        buildPngChunk('IDAT', deflateSync(rows)),
        buildPngChunk('IEND', new Uint8Array(0)),
      ]), // RGB, 8-bit, no colour chunk
      await encodePngNatively(await decodePng(photo)), // RGBA, every alpha 255, as the fake exports
      await encodePng(patternRaster(301, 97)), // the panel's own encoder, an odd size
    ];
    for (const png of cases) {
      const native = await decodeInChromium(png);
      expect(native).not.toBeNull();
      expect(Buffer.compare(Buffer.from(native!), Buffer.from((await decodePng(png)).data))).toBe(0);
    }
  }, 60_000);

  it('reads back only a region, with fast-png’s bytes for it', async () => {
    const png = await encodePngNatively(patternRaster(300, 200));
    const region = { x: 37, y: 81, width: 211, height: 64 };
    const native = await decodeInChromium(png, region);
    expect(native).not.toBeNull();
    const expected = cropRaster(await decodePng(png), region);
    expect(expected.width).toBe(211);
    expect(pixelAt(expected, 0, 0)).toEqual(pixelAt(patternRaster(300, 200), 37, 81));
    expect(Buffer.compare(Buffer.from(native!), Buffer.from(expected.data))).toBe(0);
    expect(Buffer.compare(Buffer.from((await decodePng(png, region)).data), Buffer.from(expected.data))).toBe(0);
    expect(await decodeInChromium(png, { x: 250, y: 0, width: 60, height: 10 })).toBeNull();
  }, 60_000);

  it('declines where a canvas could change a pixel: any alpha below 255, colour chunks, gray, damaged', async () => {
    const oneSeeThrough = rasterFrom(64, 64, (x, y) =>
      x === 40 && y === 3 ? [200, 100, 50, 128] : [(x * 4) & 255, (y * 4) & 255, 90, 255],
    );
    const opaque = await encodePng(patternRaster(32, 32));
    const gray = await encodePng({ data: new Uint8Array(64).fill(90), width: 8, height: 8, channels: 1 });
    const photo = new Uint8Array(await readFile(new URL('../../fixtures/images/chelsea.png', import.meta.url)));
    const cases = [
      photo, // carries an ICC profile
      await encodePng(oneSeeThrough),
      await encodePng(patternRaster(32, 32, 0)),
      withChunk(opaque, 'gAMA', [0, 0, 0xb1, 0x8f]),
      withChunk(opaque, 'iCCP', [0x78, 0, 0]),
      gray,
      new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3]),
    ];
    for (const png of cases) expect(await decodeInChromium(png)).toBeNull();
  }, 60_000);
});
