import { describe, expect, it } from 'vitest';
import type { AffineTransform } from '../../../plugin/src/main/figma-surface.ts';
import { orientationOf, placeExport } from '../../../plugin/src/main/geometry.ts';
import { comparePaintOrder } from '../../../plugin/src/main/paint-order.ts';

function rotation(degrees: number, x = 0, y = 0): AffineTransform {
  const radians = (degrees * Math.PI) / 180;
  // Figma: rotation = atan2(-m10, m00), counter-clockwise on screen.
  return [
    [Math.cos(radians), Math.sin(radians), x],
    [-Math.sin(radians), Math.cos(radians), y],
  ];
}

describe('orientationOf', () => {
  it('reads rotation counter-clockwise like Figma shows it', () => {
    expect(orientationOf(rotation(0, 40, 50))).toEqual({ rotation: 0, flipped: false, upright: true });
    expect(orientationOf(rotation(30))).toMatchObject({ rotation: 30, flipped: false, upright: false });
    expect(orientationOf(rotation(-90))).toMatchObject({ rotation: -90, upright: false });
    expect(orientationOf(rotation(180))).toMatchObject({ rotation: 180, upright: false });
  });

  it('notices mirroring', () => {
    expect(
      orientationOf([
        [-1, 0, 0],
        [0, 1, 0],
      ]),
    ).toMatchObject({ flipped: true, upright: false });
  });
});

describe('placeExport', () => {
  const frame = { x: 100, y: 200 };
  it('places a plain export at its bounds, in working pixels', () => {
    const bounds = { x: 150, y: 260, width: 40, height: 30 };
    expect(placeExport({ width: 20, height: 15 }, { bounds, renderBounds: bounds }, frame, 0.5)).toEqual({
      x: 25,
      y: 30,
      width: 20,
      height: 15,
      matched: 'bounds',
    });
  });

  it('uses the render bounds when a shadow makes the PNG larger', () => {
    const bounds = { x: 150, y: 260, width: 40, height: 30 };
    const renderBounds = { x: 144, y: 258, width: 56, height: 44 };
    expect(placeExport({ width: 56, height: 44 }, { bounds, renderBounds }, frame, 1)).toMatchObject({
      x: 44,
      y: 58,
      matched: 'render',
    });
  });

  it('tolerates Figma rounding export sizes to whole pixels', () => {
    const bounds = { x: 100.4, y: 200, width: 33.3, height: 10.6 };
    expect(placeExport({ width: 34, height: 11 }, { bounds, renderBounds: bounds }, frame, 1)).toMatchObject({
      matched: 'bounds',
    });
  });

  it('centres an export that matches no box on the layer bounds', () => {
    const bounds = { x: 100, y: 200, width: 40, height: 40 };
    expect(placeExport({ width: 60, height: 50 }, { bounds, renderBounds: null }, frame, 1)).toEqual({
      x: -10,
      y: -5,
      width: 60,
      height: 50,
      matched: 'centered',
    });
  });
});

describe('comparePaintOrder', () => {
  it('paints parents before children and earlier siblings first', () => {
    const paths = [[1, 0, 2], [1], [0, 5], [1, 0], [1, 1]];
    expect([...paths].sort(comparePaintOrder)).toEqual([[0, 5], [1], [1, 0], [1, 0, 2], [1, 1]]);
  });
});
