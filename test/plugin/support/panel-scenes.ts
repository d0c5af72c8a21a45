/** Figma documents and small helpers shared by the Chromium panel tests. */
import { readFile } from 'node:fs/promises';
import { EditSettings } from '@pixels/shared';
import type { Frame } from 'playwright-core';
import { PROVENANCE_KEY } from '../../../plugin/src/main/provenance.ts';
import type { Provenance } from '../../../plugin/src/messages/job-records.ts';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { encodePng } from '../../../plugin/src/png/png-encode.ts';
import { type FakeContainer, FakeFigma, type FakeNode, FakeRectangle } from './fake-figma.ts';
import { discRaster, solidRaster } from './test-images.ts';

export const TOKEN = 'team-token';

export interface PhotoScene {
  figma: FakeFigma;
  source: FakeContainer;
  sticker: FakeNode;
  /** A second exemplar, not selected at first. */
  badge: FakeNode;
  /** Puts a result layer from an earlier blend on the page (history, wait estimates). */
  addEarlierResult(overrides?: Partial<Provenance>): Promise<FakeRectangle>;
}

/**
 * A Figma document with a photo frame, a round pink sticker over it (both selected) and a green
 * badge. `size` stretches the photo to a larger frame; `stickerAt` places the 120 px sticker.
 */
export async function photoDocument(
  size = { width: 451, height: 300 },
  stickerAt = { x: 250, y: 90 },
): Promise<PhotoScene> {
  const figma = new FakeFigma();
  const photo = await decodePng(
    new Uint8Array(await readFile(new URL('../../fixtures/images/chelsea.png', import.meta.url))),
  );
  const source = figma.frame({ name: 'Cat photo', x: 40, y: 40, ...size, image: photo });
  const sticker = figma.layer(
    { name: 'Sticker', ...stickerAt, width: 120, height: 120, image: discRaster(120, [236, 72, 153, 255]) },
    source,
  );
  const badge = figma.layer(
    { name: 'Badge', x: 40, y: 180, width: 80, height: 80, image: discRaster(80, [34, 197, 94, 255]) },
    source,
  );
  figma.currentPage.selection = [source, sticker];
  const addEarlierResult = async (overrides: Partial<Provenance> = {}) => {
    const result = figma.createRectangle();
    const image = figma.createImage(await encodePng(solidRaster(451, 300, [120, 90, 60, 255])));
    result.fills = [{ type: 'IMAGE', imageHash: image.hash, scaleMode: 'FILL' } as never];
    result.resize(451, 300);
    result.name = 'PIXELS · builtin · earlier';
    const provenance: Provenance = {
      plugin: 'pixels',
      jobId: 'earlier-job',
      serverUrl: 'http://localhost:8787',
      settings: EditSettings.parse({ seed: 99 }),
      seed: 99,
      sourceId: source.id,
      exemplarIds: [sticker.id],
      width: 451,
      height: 300,
      placedAt: new Date(Date.now() - 3_600_000).toISOString(),
      ...overrides,
    };
    result.setPluginData(PROVENANCE_KEY, JSON.stringify(provenance));
    return result;
  };
  return { figma, source, sticker, badge, addEarlierResult };
}

/** The result layers placed in the document. */
export function placedResults(scene: PhotoScene): FakeRectangle[] {
  return scene.figma
    .allNodes()
    .filter((node) => node instanceof FakeRectangle && node.getPluginData(PROVENANCE_KEY) !== '') as FakeRectangle[];
}

/** One RGBA pixel of the map preview canvas. */
export function previewPixel(frame: Frame, at: { x: number; y: number }): Promise<number[]> {
  return frame.$eval(
    '#map-preview',
    (canvas, point) => [...(canvas as HTMLCanvasElement).getContext('2d')!.getImageData(point.x, point.y, 1, 1).data],
    at,
  );
}
