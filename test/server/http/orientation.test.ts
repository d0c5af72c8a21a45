import { unservableShape } from '@pixels/server/edit/working-size.ts';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { editForm } from './app-harness.ts';
import { startLiveServer } from './live-server.ts';
import { discPng, encodePng, gradientPng } from './png-bytes.ts';
import { readEventStream } from './sse-client.ts';

describe('EXIF orientation on the live server', () => {
  it('edits a phone photo upright: the map drawn on the upright photo fits, the result comes back upright', async () => {
    // Stored 96x64 with orientation 6 (rotate 90° clockwise to view): shown upright at 64x96.
    const stored = await sharp(gradientPng(96, 64)).jpeg({ quality: 95 }).withMetadata({ orientation: 6 }).toBuffer();
    const upright = await sharp(stored).rotate().ensureAlpha().raw().toBuffer({ resolveWithObject: true });
    expect([upright.info.width, upright.info.height]).toEqual([64, 96]);
    // Keep the top half (black), change the bottom half (white).
    const map = encodePng(64, 96, (_x, y) => (y < 48 ? [0, 0, 0, 255] : [255, 255, 255, 255]));
    const live = await startLiveServer();
    try {
      const job = await live.submit(
        'ana',
        editForm({
          settings: { steps: 4, strength: 0.8, seed: 2 },
          source: new Uint8Array(stored),
          exemplars: [discPng(64, 96)],
          map,
        }),
      );
      const last = (await readEventStream(await live.fetchAs('ana', job.eventsUrl))).at(-1)?.event;
      expect(last).toMatchObject({ type: 'done', width: 64, height: 96 });
      const png = new Uint8Array(await (await live.fetchAs('ana', `${job.jobUrl}/result`)).arrayBuffer());
      const result = await sharp(png).ensureAlpha().raw().toBuffer({ resolveWithObject: true });
      expect([result.info.width, result.info.height]).toEqual([64, 96]);
      // Where the map keeps the source, the result is the upright source pixel for pixel.
      let worst = 0;
      for (let i = 0; i < 64 * 40 * 4; i++) worst = Math.max(worst, Math.abs(result.data[i] - upright.data[i]));
      expect(worst).toBeLessThanOrEqual(1);
    } finally {
      await live.stop();
    }
  });
});

describe('shapes a model cannot serve', () => {
  const model = { nativeSize: 512, sizeMultiple: 8, vaeScaleFactor: 8 };
  const limits = { maxAspectRatio: 16, minWorkingSide: 8 };
  it('refuses aspect ratios beyond 1:16 and working sizes under 8 px, and takes the rest', () => {
    expect(unservableShape({ width: 1, height: 4_000_000 }, model, limits)).toMatch(/aspect ratio is 1:4000000/);
    expect(unservableShape({ width: 1700, height: 100 }, model, limits)).toMatch(/1:17\.0, beyond the 1:16/);
    expect(unservableShape({ width: 1600, height: 100 }, model, limits)).toBeUndefined();
    expect(unservableShape({ width: 64, height: 64 }, model, limits)).toBeUndefined();
    // A small native size makes the short side of a long image fall under the minimum.
    expect(
      unservableShape({ width: 1600, height: 100 }, { nativeSize: 24, sizeMultiple: 1, vaeScaleFactor: 8 }, limits),
    ).toMatch(/under the 8 px a side/);
  });

  it('judges a pixel-space model by the image itself, which it works on at its own size', () => {
    const pixelSpace = { nativeSize: 512, sizeMultiple: 1, vaeScaleFactor: 1 };
    // A latent model would scale 6x64 up to its native area; the pixel-space model runs it at 6 px.
    expect(unservableShape({ width: 6, height: 64 }, model, limits)).toBeUndefined();
    expect(unservableShape({ width: 6, height: 64 }, pixelSpace, limits)).toMatch(
      /would run it at 6x64, under the 8 px/,
    );
    expect(unservableShape({ width: 64, height: 64 }, pixelSpace, limits)).toBeUndefined();
  });
});
