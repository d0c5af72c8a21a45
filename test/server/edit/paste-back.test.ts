import { FEATHER_PIXELS, keepWeights, pasteBack } from '@pixels/server/edit/paste-back.ts';
import type { RawImage } from '@pixels/server/images/codec.ts';
import { describe, expect, it } from 'vitest';

const WIDTH = 24;
const HEIGHT = 4;

/** A horizontal edit map: black left of `from`, a ramp to white at `to`. */
function rampMap(from: number, to: number) {
  const data = new Float32Array(WIDTH * HEIGHT);
  for (let y = 0; y < HEIGHT; y++) {
    for (let x = 0; x < WIDTH; x++) data[y * WIDTH + x] = Math.min(1, Math.max(0, (x - from) / (to - from)));
  }
  return { data, width: WIDTH, height: HEIGHT };
}

const solid = (channels: 3 | 4, value: number, alpha = 255): RawImage => {
  const data = new Uint8Array(WIDTH * HEIGHT * channels);
  for (let p = 0; p < WIDTH * HEIGHT; p++) {
    data.fill(value, p * channels, p * channels + 3);
    if (channels === 4) data[p * 4 + 3] = alpha;
  }
  return { data, width: WIDTH, height: HEIGHT, channels };
};

describe('paste-back', () => {
  it('takes the original exactly where the map keeps it and fades out over a few pixels', () => {
    const weights = keepWeights(rampMap(8, 20));
    const row = Array.from(weights.subarray(0, WIDTH));
    // x = 0..8: map 0 → kept.
    for (let x = 0; x <= 8; x++) expect(row[x]).toBe(1);
    // Then falling within the feather: the smoothstep of 1 - d/(FEATHER_PIXELS + 1) at d = 1, 2, 3 pixels...
    expect(FEATHER_PIXELS).toBe(3);
    expect(row.slice(9, 9 + FEATHER_PIXELS)).toEqual([0.84375, 0.5, 0.15625]);
    // ...and nothing of the original beyond it: the band belongs to the model.
    for (let x = 9 + FEATHER_PIXELS; x < WIDTH; x++) expect(row[x]).toBe(0);
  });

  it('does not alpha-blend the band: the model result comes back unchanged there', () => {
    const map = rampMap(8, 20);
    const output = pasteBack(solid(4, 200, 128), solid(3, 40), map);
    expect(output.channels).toBe(4);
    for (let x = 0; x < WIDTH; x++) {
      const value = output.data[x * 4];
      if (x <= 8) expect(value).toBe(200);
      else if (x > 8 + FEATHER_PIXELS) expect(value).toBe(40);
      else expect(value).toBeGreaterThan(40);
      expect(output.data[x * 4 + 3]).toBe(128); // the source's alpha everywhere
    }
  });

  it('counts greys of one or two levels as black, and feathers a hard edge into the white side', () => {
    const map = rampMap(8, 9); // a hard edge at x = 8/9
    map.data[3] = 2 / 255;
    map.data[4] = 3 / 255;
    const weights = keepWeights(map);
    expect(weights[3]).toBe(1);
    // Three levels is an edit: one pixel from the kept x = 3, like the white side one pixel past the edge.
    expect(weights[4]).toBe(0.84375);
    expect(weights[9]).toBe(0.84375);
    expect(keepWeights(map, { featherPixels: 0 })[9]).toBe(0);
  });

  it('refuses images of another size, naming which', () => {
    const map = rampMap(8, 20);
    const small: RawImage = { data: new Uint8Array(12), width: 2, height: 2, channels: 3 };
    expect(() => pasteBack(solid(4, 1), small, map)).toThrow(/result is 2x2x3, expected 24x4x3/);
  });
});
