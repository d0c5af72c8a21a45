import { describe, expect, it } from 'vitest';
import { containsBox, intersectBoxes } from '../../../plugin/src/common/box.ts';

describe('boxes', () => {
  it('intersect only where they overlap; touching edges do not count', () => {
    expect(intersectBoxes({ x: 0, y: 0, width: 10, height: 10 }, { x: 5, y: 6, width: 10, height: 10 })).toEqual({
      x: 5,
      y: 6,
      width: 5,
      height: 4,
    });
    expect(intersectBoxes({ x: 0, y: 0, width: 10, height: 10 }, { x: 10, y: 0, width: 5, height: 5 })).toBeNull();
  });

  it('containment tolerates sub-pixel rounding', () => {
    expect(containsBox({ x: 0, y: 0, width: 100, height: 100 }, { x: -0.005, y: 10, width: 50, height: 50 })).toBe(
      true,
    );
    expect(containsBox({ x: 0, y: 0, width: 100, height: 100 }, { x: 60, y: 60, width: 50, height: 10 })).toBe(false);
  });
});
