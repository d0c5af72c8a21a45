/**
 * The fixed scenes `pnpm quality` runs: textures and photos from test/fixtures/images, a ramp, a
 * soft circle and two layers, every curve and three strengths.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRgba, type RawImage, resizeRaw } from '@pixels/server/images/codec.ts';
import type { ThresholdCurve } from '@pixels/shared';
import type { Map01 } from './metrics.ts';

export const FIXTURES = join(import.meta.dirname, '..', '..', 'test', 'fixtures', 'images');
export type FixtureName = 'brick' | 'chelsea' | 'coffee' | 'grass' | 'gravel';

export interface Layer {
  image: FixtureName;
  /** Coverage in the source frame, 0..1. */
  alpha?: (x: number, y: number, width: number, height: number) => number;
}

export interface Scenario {
  name: string;
  source: FixtureName;
  layers: readonly Layer[];
  map: 'ramp' | 'circle' | 'vertical ramp';
  curve: ThresholdCurve;
  strength: number;
  /** A short note for the table. */
  what: string;
}

export const SIZE = 256;
const BASE = { curve: 'linear', strength: 0.6 } as const;

/** The map's shape, white = change: a ramp across the middle 40%, or a disc with a wide soft edge. */
export function scenarioMap(kind: Scenario['map'], width: number, height: number): Map01 {
  const data = new Float32Array(width * height);
  const clamp = (value: number) => Math.min(1, Math.max(0, value));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let value: number;
      if (kind === 'ramp') value = clamp((x / (width - 1) - 0.3) / 0.4);
      else if (kind === 'vertical ramp') value = clamp((y / (height - 1) - 0.3) / 0.4);
      else {
        const radius = Math.hypot(x - width / 2, y - height / 2) / width;
        value = clamp((0.42 - radius) / 0.27);
      }
      // As an 8-bit map PNG would carry it.
      data[y * width + x] = Math.round(value * 255) / 255;
    }
  }
  return { data, width, height };
}

const leftHalf = (x: number, _y: number, width: number) => (x < width / 2 ? 1 : 0);
const rightHalf = (x: number, _y: number, width: number) => (x >= width / 2 ? 1 : 0);

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'brick-grass-ramp',
    source: 'brick',
    layers: [{ image: 'grass' }],
    map: 'ramp',
    ...BASE,
    what: 'textures, ramp',
  },
  {
    name: 'gravel-brick-circle',
    source: 'gravel',
    layers: [{ image: 'brick' }],
    map: 'circle',
    ...BASE,
    what: 'textures, soft circle',
  },
  {
    name: 'chelsea-coffee-ramp',
    source: 'chelsea',
    layers: [{ image: 'coffee' }],
    map: 'ramp',
    ...BASE,
    what: 'photos, ramp',
  },
  {
    name: 'coffee-chelsea-circle',
    source: 'coffee',
    layers: [{ image: 'chelsea' }],
    map: 'circle',
    ...BASE,
    what: 'photos, soft circle',
  },
  {
    name: 'brick-two-layers',
    source: 'brick',
    layers: [
      { image: 'grass', alpha: leftHalf },
      { image: 'coffee', alpha: rightHalf },
    ],
    map: 'vertical ramp',
    ...BASE,
    what: 'two layers, vertical ramp',
  },
  ...(['quadratic', 'cubic', 'log', 'sigmoid'] as const).map((curve) => ({
    name: `brick-grass-ramp-${curve}`,
    source: 'brick' as const,
    layers: [{ image: 'grass' as const }],
    map: 'ramp' as const,
    curve,
    strength: 0.6,
    what: `curve ${curve}`,
  })),
  ...[0.3, 0.9].map((strength) => ({
    name: `brick-grass-ramp-strength-${strength}`,
    source: 'brick' as const,
    layers: [{ image: 'grass' as const }],
    map: 'ramp' as const,
    curve: 'linear' as const,
    strength,
    what: `strength ${strength}`,
  })),
];

/** A fixture cropped to a square and scaled to SIZE², RGBA. */
export async function loadFixture(name: FixtureName): Promise<RawImage> {
  const image = await decodeRgba(new Uint8Array(await readFile(join(FIXTURES, `${name}.png`))), 1 << 26);
  return resizeRaw(image, SIZE, SIZE, 'cover');
}
