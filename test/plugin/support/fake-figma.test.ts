import { describe, expect, it } from 'vitest';
import { decodePng } from '../../../plugin/src/png/png-decode.ts';
import { FakeFigma } from './fake-figma.ts';
import { discRaster, patternRaster, pixelAt } from './test-images.ts';

const AT_1X = { format: 'PNG', constraint: { type: 'SCALE', value: 1 }, useAbsoluteBounds: true } as const;
const RED = [255, 0, 0, 255] as const;
const BLUE = [0, 0, 255, 255] as const;

/** The pixels of `rect` cut out of a decoded export. */
function cut(
  raster: Awaited<ReturnType<typeof decodePng>>,
  rect: { x: number; y: number; width: number; height: number },
) {
  const rows: number[][] = [];
  for (let y = rect.y; y < rect.y + rect.height; y++)
    for (let x = rect.x; x < rect.x + rect.width; x++) rows.push(pixelAt(raster, x, y));
  return rows;
}

describe("the Figma fake's slices", () => {
  it("export what the frame's own export shows inside their bounds, pixel for pixel", async () => {
    const figma = new FakeFigma();
    const frame = figma.frame({ name: 'Hero', x: 30, y: 20, width: 160, height: 120, image: patternRaster(160, 120) });
    figma.layer({ name: 'Dot', x: 40, y: 30, width: 50, height: 50, image: discRaster(50, RED) }, frame);
    const whole = await decodePng(await frame.exportAsync(AT_1X));
    const slice = figma.createSlice();
    slice.x = 30 + 25;
    slice.y = 20 + 15;
    slice.resize(90, 70);
    const part = await decodePng(await slice.exportAsync(AT_1X));
    expect([part.width, part.height]).toEqual([90, 70]);
    expect(cut(part, { x: 0, y: 0, width: 90, height: 70 })).toEqual(
      cut(whole, { x: 25, y: 15, width: 90, height: 70 }),
    );
    // At half scale the slice's pixels are the frame's pixels at the same (whole-pixel) offset.
    const half = { ...AT_1X, constraint: { type: 'SCALE', value: 0.5 } } as const;
    const wholeHalf = await decodePng(await frame.exportAsync(half));
    slice.x = 30 + 40;
    slice.y = 20 + 20;
    slice.resize(80, 60);
    const partHalf = await decodePng(await slice.exportAsync(half));
    expect([partHalf.width, partHalf.height]).toEqual([40, 30]);
    expect(cut(partHalf, { x: 0, y: 0, width: 40, height: 30 })).toEqual(
      cut(wholeHalf, { x: 20, y: 10, width: 40, height: 30 }),
    );
  });

  it('see every visible layer inside them, from any parent, and nothing hidden', async () => {
    const figma = new FakeFigma();
    const frame = figma.frame({ name: 'Hero', x: 0, y: 0, width: 100, height: 100, paint: BLUE });
    const hidden = figma.layer({ name: 'Hidden', x: 10, y: 10, width: 20, height: 20, paint: RED }, frame);
    hidden.visible = false;
    // A layer on the page, outside the frame's tree, over the frame's corner.
    figma.layer({ name: 'Label', x: 80, y: 80, width: 40, height: 40, paint: RED });
    const slice = figma.createSlice();
    slice.x = 0;
    slice.y = 0;
    slice.resize(120, 120);
    const seen = await decodePng(await slice.exportAsync(AT_1X));
    expect(pixelAt(seen, 15, 15)).toEqual([...BLUE]);
    expect(pixelAt(seen, 90, 90)).toEqual([...RED]);
    expect(pixelAt(seen, 110, 50)).toEqual([0, 0, 0, 0]);
    // The frame's own export leaves the label out.
    expect(pixelAt(await decodePng(await frame.exportAsync(AT_1X)), 90, 90)).toEqual([...BLUE]);
    expect(figma.exports.at(-2)).toMatchObject({ nodeId: slice.id, hiddenDuringExport: [hidden.id] });
  });

  it('are page layers that paint nothing, and cannot export once removed', async () => {
    const figma = new FakeFigma();
    const slice = figma.createSlice();
    expect(figma.currentPage.children).toContain(slice);
    expect(slice.type).toBe('SLICE');
    expect(slice.fills).toEqual([]);
    slice.remove();
    expect(figma.currentPage.children).not.toContain(slice);
    await expect(slice.exportAsync(AT_1X)).rejects.toThrow('removed');
  });
});
