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
    const slice = figma.createSlice();
    // The slice over (x, y, width, height) of the frame, exported at `scale`, against the frame's own
    // export at that scale, cut at the same (whole-pixel) offset.
    const expectSliceOfFrame = async (box: { x: number; y: number; width: number; height: number }, scale: number) => {
      const options = { ...AT_1X, constraint: { type: 'SCALE', value: scale } } as const;
      const whole = await decodePng(await frame.exportAsync(options));
      slice.x = 30 + box.x;
      slice.y = 20 + box.y;
      slice.resize(box.width, box.height);
      const part = await decodePng(await slice.exportAsync(options));
      const size = { width: box.width * scale, height: box.height * scale };
      expect([part.width, part.height]).toEqual([size.width, size.height]);
      expect(cut(part, { x: 0, y: 0, ...size })).toEqual(cut(whole, { x: box.x * scale, y: box.y * scale, ...size }));
    };
    await expectSliceOfFrame({ x: 25, y: 15, width: 90, height: 70 }, 1);
    await expectSliceOfFrame({ x: 40, y: 20, width: 80, height: 60 }, 0.5);
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
