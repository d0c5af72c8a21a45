/** PNG's five scanline filters (PNG spec, section 9). */
export const FILTER = Object.freeze({ none: 0, sub: 1, up: 2, average: 3, paeth: 4 });

export function paeth(left: number, up: number, upLeft: number): number {
  const estimate = left + up - upLeft;
  const toLeft = Math.abs(estimate - left);
  const toUp = Math.abs(estimate - up);
  const toUpLeft = Math.abs(estimate - upLeft);
  if (toLeft <= toUp && toLeft <= toUpLeft) return left;
  return toUp <= toUpLeft ? up : upLeft;
}

/**
 * Undoes the filter of one scanline in place. `line` holds the filtered bytes, `previous` the
 * unfiltered line above (zeros for the first), `stride` the bytes per pixel (at least 1).
 */
export function unfilterLine(filter: number, line: Uint8Array, previous: Uint8Array, stride: number): void {
  const length = line.length;
  switch (filter) {
    case FILTER.none:
      return;
    case FILTER.sub:
      for (let i = stride; i < length; i++) line[i] = (line[i] + line[i - stride]) & 0xff;
      return;
    case FILTER.up:
      for (let i = 0; i < length; i++) line[i] = (line[i] + previous[i]) & 0xff;
      return;
    case FILTER.average:
      for (let i = 0; i < length; i++) {
        const left = i >= stride ? line[i - stride] : 0;
        line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xff;
      }
      return;
    case FILTER.paeth:
      for (let i = 0; i < length; i++) {
        const left = i >= stride ? line[i - stride] : 0;
        const upLeft = i >= stride ? previous[i - stride] : 0;
        line[i] = (line[i] + paeth(left, previous[i], upLeft)) & 0xff;
      }
      return;
    default:
      throw new Error(`PNG scanline uses filter type ${filter}; valid types are 0 to 4. The file is damaged.`);
  }
}

/** Magnitude of a filtered byte read as signed, for the minimum-sum heuristic. */
function magnitude(value: number): number {
  return value < 128 ? value : 256 - value;
}

function filterSub(line: Uint8Array, stride: number, out: Uint8Array): number {
  let score = 0;
  for (let i = 0; i < line.length; i++) {
    const value = i < stride ? line[i] : (line[i] - line[i - stride]) & 0xff;
    out[i] = value;
    score += magnitude(value);
  }
  return score;
}

function filterUp(line: Uint8Array, previous: Uint8Array, out: Uint8Array): number {
  let score = 0;
  for (let i = 0; i < line.length; i++) {
    const value = (line[i] - previous[i]) & 0xff;
    out[i] = value;
    score += magnitude(value);
  }
  return score;
}

function filterPaeth(line: Uint8Array, previous: Uint8Array, stride: number, out: Uint8Array): number {
  let score = 0;
  for (let i = 0; i < stride; i++) {
    const value = (line[i] - previous[i]) & 0xff;
    out[i] = value;
    score += magnitude(value);
  }
  for (let i = stride; i < line.length; i++) {
    const left = line[i - stride];
    const up = previous[i];
    const upLeft = previous[i - stride];
    const estimate = left + up - upLeft;
    const toLeft = estimate > left ? estimate - left : left - estimate;
    const toUp = estimate > up ? estimate - up : up - estimate;
    const toUpLeft = estimate > upLeft ? estimate - upLeft : upLeft - estimate;
    const predicted = toLeft <= toUp && toLeft <= toUpLeft ? left : toUp <= toUpLeft ? up : upLeft;
    const value = (line[i] - predicted) & 0xff;
    out[i] = value;
    score += magnitude(value);
  }
  return score;
}

/** Filters one scanline with `filter` into `out` (without the filter byte); returns the minimum-sum score. */
export function applyFilter(
  filter: number,
  line: Uint8Array,
  previous: Uint8Array,
  stride: number,
  out: Uint8Array,
): number {
  switch (filter) {
    case FILTER.sub:
      return filterSub(line, stride, out);
    case FILTER.up:
      return filterUp(line, previous, out);
    case FILTER.paeth:
      return filterPaeth(line, previous, stride, out);
    default: {
      out.set(line);
      let score = 0;
      for (let i = 0; i < line.length; i++) score += magnitude(line[i]);
      return score;
    }
  }
}

const CANDIDATE_FILTERS = [FILTER.sub, FILTER.up, FILTER.paeth];

/**
 * Filters one scanline into `out` (filter byte first) with the filter whose output has the smallest
 * sum of absolute values, the heuristic the PNG spec recommends; returns the filter chosen.
 * `scratch` is `line.length` bytes.
 */
export function filterLine(
  line: Uint8Array,
  previous: Uint8Array,
  stride: number,
  out: Uint8Array,
  scratch: Uint8Array,
): number {
  const best = out.subarray(1);
  let bestScore = applyFilter(FILTER.none, line, previous, stride, best);
  out[0] = FILTER.none;
  if (bestScore === 0) return FILTER.none;
  for (const filter of CANDIDATE_FILTERS) {
    const score = applyFilter(filter, line, previous, stride, scratch);
    if (score < bestScore) {
      bestScore = score;
      out[0] = filter;
      best.set(scratch);
    }
  }
  return out[0];
}
