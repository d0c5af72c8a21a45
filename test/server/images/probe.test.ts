import { probeImage } from '@pixels/server/images/probe.ts';
import { PixelsError } from '@pixels/shared';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { bombPng } from '../../helpers/images.ts';

/** A width x height image of one grey, with an alpha channel when `channels` is 4. */
function solid(width: number, height: number, channels: 3 | 4 = 3) {
  return sharp(Buffer.alloc(width * height * channels, 128), { raw: { width, height, channels } });
}

async function refusal(bytes: Uint8Array, role: string, maxPixels: number): Promise<PixelsError> {
  const error = await probeImage(bytes, role, maxPixels).then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  expect(error).toBeInstanceOf(PixelsError);
  return error as PixelsError;
}

describe('probeImage refuses', () => {
  it('an empty file', async () => {
    const error = await refusal(new Uint8Array(0), 'source', 1000);
    expect([error.code, error.field, error.message]).toEqual([
      'invalid_image',
      'source',
      'The source image is empty: send a PNG, JPEG or WebP file.',
    ]);
  });

  it('bytes that are no image, keeping the decoder message out of what the user reads', async () => {
    const error = await refusal(new TextEncoder().encode('GIF? no, plain text'), 'exemplar 2', 1000);
    expect([error.code, error.field, error.message]).toEqual([
      'invalid_image',
      'exemplar 2',
      'The exemplar 2 image could not be read: it is not a PNG, JPEG or WebP file, or it is damaged.',
    ]);
    expect((error.cause as Error).message).toBe('Input buffer contains unsupported image format');
  });

  it('a truncated PNG', async () => {
    const png = await solid(8, 8).png().toBuffer();
    const error = await refusal(new Uint8Array(png.subarray(0, 20)), 'map', 1000);
    expect([error.code, error.message]).toEqual([
      'invalid_image',
      'The map image could not be read: it is not a PNG, JPEG or WebP file, or it is damaged.',
    ]);
  });

  it.each(['gif', 'tiff'] as const)('a readable image of another format (%s), naming it', async (format) => {
    const bytes = new Uint8Array(await solid(4, 4).toFormat(format).toBuffer());
    const error = await refusal(bytes, 'source', 1000);
    expect([error.code, error.field, error.message]).toEqual([
      'invalid_image',
      'source',
      `The source image is ${format}; send it as PNG, JPEG or WebP.`,
    ]);
  });

  it('an image over the pixel limit, with its size and the limit', async () => {
    const png = new Uint8Array(await solid(40, 30).png().toBuffer());
    const error = await refusal(png, 'source', 1199);
    expect([error.code, error.field, error.message]).toEqual([
      'image_too_large',
      'source',
      'The source image is 40x30 (1200 pixels), over the limit of 1199 pixels; scale it down.',
    ]);
    await expect(probeImage(png, 'source', 1200)).resolves.toMatchObject({ width: 40, height: 30 });
  });

  it('a decompression bomb from its header alone', async () => {
    const error = await refusal(bombPng(50_000, 50_000), 'map', 1 << 24);
    expect([error.code, error.message]).toEqual([
      'image_too_large',
      'The map image is 50000x50000 (2500000000 pixels), over the limit of 16777216 pixels; scale it down.',
    ]);
  });
});

describe('probeImage reads', () => {
  it.each([
    ['png', 3, false],
    ['png', 4, true],
    ['jpeg', 3, false],
    ['webp', 4, true],
  ] as const)('%s with %i channels: format, size and whether it has alpha', async (format, channels, hasAlpha) => {
    const bytes = new Uint8Array(await solid(7, 5, channels).toFormat(format).toBuffer());
    expect(await probeImage(bytes, 'source', 35)).toEqual({ format, width: 7, height: 5, hasAlpha });
  });

  it.each([
    [1, 7, 5],
    [3, 7, 5],
    [6, 5, 7],
    [8, 5, 7],
  ])('the upright size under EXIF orientation %i: %ix%i', async (orientation, width, height) => {
    const jpeg = new Uint8Array(await solid(7, 5).jpeg().withMetadata({ orientation }).toBuffer());
    expect(await probeImage(jpeg, 'source', 35)).toEqual({ format: 'jpeg', width, height, hasAlpha: false });
  });
});
