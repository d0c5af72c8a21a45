import { thresholdAt, thresholds } from '@pixels/shared';
import { describe, expect, it } from 'vitest';

describe('threshold curves (paper appendix)', () => {
  it('follows each formula at x = i/N', () => {
    const n = 10;
    for (let i = 0; i < n; i++) {
      const x = i / n;
      expect(thresholdAt('linear', i, n)).toBeCloseTo(x, 12);
      expect(thresholdAt('quadratic', i, n)).toBeCloseTo(x ** 2, 12);
      expect(thresholdAt('cubic', i, n)).toBeCloseTo(x ** 3, 12);
      expect(thresholdAt('log', i, n)).toBeCloseTo(Math.log(1 + i) / Math.log(1 + n), 12);
      expect(thresholdAt('sigmoid', i, n)).toBeCloseTo(1 / (1 + Math.exp(-(6 * x - 3))), 12);
    }
  });

  it('starts at 0 (sigmoid at its floor) and stays below 1', () => {
    expect(thresholds('linear', 4)).toEqual([0, 0.25, 0.5, 0.75]);
    expect(thresholdAt('log', 0, 8)).toBe(0);
    expect(thresholdAt('sigmoid', 0, 8)).toBeCloseTo(0.0474259, 6);
    for (const curve of ['linear', 'quadratic', 'cubic', 'log', 'sigmoid'] as const) {
      const table = thresholds(curve, 25);
      expect(table.every((value, i) => value < 1 && (i === 0 || value > table[i - 1]))).toBe(true);
    }
  });

  it('orders adherence: cubic holds longest, log releases earliest', () => {
    const i = 5;
    const n = 10;
    expect(thresholdAt('cubic', i, n)).toBeLessThan(thresholdAt('quadratic', i, n));
    expect(thresholdAt('quadratic', i, n)).toBeLessThan(thresholdAt('linear', i, n));
    expect(thresholdAt('linear', i, n)).toBeLessThan(thresholdAt('log', i, n));
  });
});
