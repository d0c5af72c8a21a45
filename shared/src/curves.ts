/**
 * Threshold curves of the PIXELS paper (appendix): thr_i for step i of the N steps actually run.
 * A cell of the hold map stays pinned to the source while its hold value exceeds thr_i, so curves
 * that rise slowly (cubic, quadratic) hold the source longer and curves that rise fast (log)
 * release it earlier.
 */
export const THRESHOLD_CURVES = ['linear', 'quadratic', 'cubic', 'log', 'sigmoid'] as const;
export type ThresholdCurve = (typeof THRESHOLD_CURVES)[number];

/** thr_i for step `index` (0-based) of `count` steps; the value lies in [0, 1). */
export function thresholdAt(curve: ThresholdCurve, index: number, count: number): number {
  const x = index / count;
  switch (curve) {
    case 'linear':
      return x;
    case 'quadratic':
      return x * x;
    case 'cubic':
      return x * x * x;
    case 'log':
      return Math.log1p(index) / Math.log1p(count);
    case 'sigmoid':
      return 1 / (1 + Math.exp(-(6 * x - 3)));
  }
}

/** The whole table thr_0 .. thr_{count-1}. */
export function thresholds(curve: ThresholdCurve, count: number): number[] {
  return Array.from({ length: count }, (_, index) => thresholdAt(curve, index, count));
}
