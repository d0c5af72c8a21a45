import { describe, expect, it } from 'vitest';
import { EDIT_MARGIN, editRegionOf, exportSizeFor, planExport } from '../../../plugin/src/common/export-sizing.ts';

describe('exportSizeFor', () => {
  it('keeps a source that fits at 1x', () => {
    expect(exportSizeFor({ x: 5, y: 5, width: 375, height: 812 }, 1024)).toEqual({
      scale: 1,
      width: 375,
      height: 812,
      fullWidth: 375,
      fullHeight: 812,
      capped: false,
    });
  });

  it('scales a large source so its long side meets the cap, never up', () => {
    expect(exportSizeFor({ x: 0, y: 0, width: 2048, height: 1536 }, 1024)).toEqual({
      scale: 0.5,
      width: 1024,
      height: 768,
      fullWidth: 2048,
      fullHeight: 1536,
      capped: true,
    });
  });
});

describe('planExport: the whole frame or the region around the edit, at 1x up to the cap', () => {
  const frame = { x: 100, y: 50, width: 3000, height: 2000 };
  // An exemplar 200x100 at (1000, 600) in the frame; the map spreads 32 px (grow + feather) beyond it.
  const sticker = { boxes: [{ x: 1100, y: 650, width: 200, height: 100 }], spreadPx: 32, everywhere: false };

  it('sends the padded region at 1x when it fits under the cap', () => {
    const plan = planExport(frame, sticker, 4096);
    // Spread (32 + 1 px) each side: 266x166; margin max(64, 0.25 x 266) = 66.5 each side.
    expect(plan).toEqual({
      scale: 1,
      width: 3000,
      height: 2000,
      fullWidth: 3000,
      fullHeight: 2000,
      capped: false,
      window: { x: 900, y: 500, width: 400, height: 300 },
      region: true,
    });
    expect(EDIT_MARGIN).toEqual({ fraction: 0.25, floorPx: 64 });
  });

  it('scales a region larger than the cap down to it, spread and margin still in sent pixels', () => {
    const plan = planExport(frame, sticker, 256);
    expect(plan.capped).toBe(true);
    expect(plan.region).toBe(true);
    expect(Math.max(plan.window.width, plan.window.height)).toBeLessThanOrEqual(256);
    expect(Math.max(plan.window.width, plan.window.height)).toBeGreaterThanOrEqual(250);
    // The exemplar and 64 px of margin at this scale stay inside what is sent.
    const [box] = sticker.boxes;
    const left = (box.x - frame.x) * plan.scale;
    const top = (box.y - frame.y) * plan.scale;
    expect(plan.window.x).toBeLessThanOrEqual(left - 64);
    expect(plan.window.y).toBeLessThanOrEqual(top - 64);
    expect(plan.window.x + plan.window.width).toBeGreaterThanOrEqual(left + box.width * plan.scale + 64);
    expect(plan.window.y + plan.window.height).toBeGreaterThanOrEqual(top + box.height * plan.scale + 64);
  });

  it('sends the whole frame when the region covers it, the edit is everywhere, or no edit is given', () => {
    const whole = { x: 0, y: 0, width: 3000, height: 2000 };
    const covering = planExport(frame, { ...sticker, boxes: [{ ...frame, x: 150, width: 2800 }] }, 4096);
    expect([covering.region, covering.window]).toEqual([false, whole]);
    expect(planExport(frame, { ...sticker, everywhere: true }, 4096).window).toEqual(whole);
    const preview = planExport(frame, null, 1024);
    expect([preview.region, preview.scale, preview.window]).toEqual([
      false,
      1024 / 3000,
      { x: 0, y: 0, width: 1024, height: 683 },
    ]);
  });

  it("keeps the whole source's export within Figma's 4096 px limit", () => {
    const huge = { x: 0, y: 0, width: 8192, height: 4096 };
    const plan = planExport(
      huge,
      { boxes: [{ x: 100, y: 100, width: 100, height: 100 }], spreadPx: 0, everywhere: false },
      4096,
    );
    expect([plan.scale, plan.width, plan.height, plan.capped, plan.region]).toEqual([0.5, 4096, 2048, true, true]);
  });

  it('keeps a region exported alone at 1x in a source beyond 4096 px, the limit on the region', () => {
    const huge = { x: 0, y: 0, width: 8192, height: 4096 };
    const edit = { boxes: [{ x: 100, y: 100, width: 100, height: 100 }], spreadPx: 0, everywhere: false };
    const plan = planExport(huge, edit, 4096, 'window');
    // Spread 1 px each side: 102 px; margin 64 px.
    expect(plan).toMatchObject({ scale: 1, width: 8192, height: 4096, capped: false, region: true });
    expect(plan.window).toEqual({ x: 35, y: 35, width: 230, height: 230 });
    // A region longer than the limit is scaled to it.
    const wide = planExport(huge, { ...edit, boxes: [{ x: 0, y: 0, width: 6000, height: 100 }] }, 4096, 'window');
    expect(Math.max(wide.window.width, wide.window.height)).toBeLessThanOrEqual(4096);
    expect(wide.capped).toBe(true);
  });
});

describe('editRegionOf: what the map changes or an exemplar covers, padded by the margin', () => {
  const mask = (width: number, height: number, set: (x: number, y: number) => number) => {
    const data = new Float32Array(width * height);
    for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) data[y * width + x] = set(x, y);
    return { data, width, height };
  };

  it('unions the masks, pads by the margin floor and stays inside the window', () => {
    const map = mask(400, 300, (x, y) => (x >= 200 && x < 210 && y >= 100 && y < 120 ? 0.004 : 0));
    const coverage = mask(400, 300, (x, y) => (x === 215 && y === 110 ? 1 : 0));
    // Touched: x 200..215, y 100..119 (16x20); margin max(64, 0.25 x 20) = 64.
    expect(editRegionOf([map, coverage], 400, 300)).toEqual({ x: 136, y: 36, width: 144, height: 148 });
    // A 3x300 strip: the margin follows its long side, 0.25 x 300 = 75 px.
    expect(editRegionOf([mask(400, 300, (x) => (x < 3 ? 1 : 0))], 400, 300)).toEqual({
      x: 0,
      y: 0,
      width: 78,
      height: 300,
    });
  });

  it('grows the margin with a large region and says null when nothing is touched', () => {
    const big = mask(2000, 1000, (x, y) => (x >= 500 && x < 1300 && y >= 300 && y < 500 ? 1 : 0));
    // 800 px long side: margin 200 px.
    expect(editRegionOf([big], 2000, 1000)).toEqual({ x: 300, y: 100, width: 1200, height: 600 });
    expect(editRegionOf([mask(50, 50, () => 0)], 50, 50)).toBeNull();
  });
});
