/**
 * How a blend is judged: every figure compares a result with the source S and the
 * exemplar E it was made from, by the edit map m (white = change). Images are RGB, 3 bytes a pixel,
 * all of one size; maps are one float in [0, 1] a pixel.
 */

export interface Rgb {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
}

export interface Map01 {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

/** Map values strictly between these are the band; at or below BLACK keeps, at or above WHITE is the exemplar. */
export const BLACK = 2 / 255;
export const WHITE = 1 - 2 / 255;
/** Channel values closer than this (grey levels) carry no information on which image a pixel follows. */
export const DIFFERENCE_FLOOR = 8;

export const isBand = (value: number) => value > BLACK && value < WHITE;

/** (1 − m)·S + m·E, rounded: the plain alpha blend by the same map. */
export function alphaBlend(source: Rgb, exemplar: Rgb, map: Map01): Rgb {
  const data = new Uint8Array(source.data.length);
  for (let i = 0; i < data.length; i++) {
    const m = map.data[Math.floor(i / 3)];
    data[i] = Math.round(source.data[i] * (1 - m) + exemplar.data[i] * m);
  }
  return { data, width: source.width, height: source.height };
}

/** E where m ≥ 0.5, S elsewhere: the hard paste by the same map. */
export function hardPaste(source: Rgb, exemplar: Rgb, map: Map01): Rgb {
  const data = new Uint8Array(source.data.length);
  for (let i = 0; i < data.length; i++)
    data[i] = map.data[Math.floor(i / 3)] >= 0.5 ? exemplar.data[i] : source.data[i];
  return { data, width: source.width, height: source.height };
}

export interface LevelFigure {
  /** The tenth of the map range: 0 is (0, 0.1), 9 is [0.9, 1). */
  tenth: number;
  /** Mean map value of the pixels counted. */
  level: number;
  pixels: number;
}

export interface WeightFigure extends LevelFigure {
  /** Least-squares w in result ≈ (1 − w)·S + w·E over the tenth's channel values where S and E differ. */
  weight: number;
}

/** Which tenth of the band a map value falls in, or −1 outside the band. */
function tenthOf(value: number): number {
  return isBand(value) ? Math.min(9, Math.floor(value * 10)) : -1;
}

/** The exemplar's effective weight per tenth of the map's band (tenths with no differing pixels are left out). */
export function effectiveWeights(result: Rgb, source: Rgb, exemplar: Rgb, map: Map01): WeightFigure[] {
  const cross = new Float64Array(10);
  const energy = new Float64Array(10);
  const levels = new Float64Array(10);
  const counts = new Float64Array(10);
  for (let p = 0; p < map.data.length; p++) {
    const tenth = tenthOf(map.data[p]);
    if (tenth < 0) continue;
    levels[tenth] += map.data[p];
    counts[tenth]++;
    for (let c = 0; c < 3; c++) {
      const i = p * 3 + c;
      const difference = exemplar.data[i] - source.data[i];
      if (Math.abs(difference) < DIFFERENCE_FLOOR) continue;
      cross[tenth] += (result.data[i] - source.data[i]) * difference;
      energy[tenth] += difference * difference;
    }
  }
  const figures: WeightFigure[] = [];
  for (let tenth = 0; tenth < 10; tenth++) {
    if (energy[tenth] === 0) continue;
    figures.push({
      tenth,
      level: levels[tenth] / counts[tenth],
      pixels: counts[tenth],
      weight: cross[tenth] / energy[tenth],
    });
  }
  return figures;
}

/** |dx| + |dy| per pixel (forward differences, mean over channels; 0 on the last row and column). */
export function gradientEnergy(image: Rgb): Float32Array {
  const { width, height, data } = image;
  const energy = new Float32Array(width * height);
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      const p = y * width + x;
      let sum = 0;
      for (let c = 0; c < 3; c++) {
        sum +=
          Math.abs(data[(p + 1) * 3 + c] - data[p * 3 + c]) + Math.abs(data[(p + width) * 3 + c] - data[p * 3 + c]);
      }
      energy[p] = sum / 3;
    }
  }
  return energy;
}

export interface TextureFigure extends LevelFigure {
  /** Mean gradient energy of the result over the map-weighted mean of the source's and exemplar's. */
  ratio: number;
}

export interface TextureFigures {
  /** Over the whole band. */
  ratio: number;
  perTenth: TextureFigure[];
  /** The largest and smallest per-tenth ratio: a seam or block edges push the peak above 1, washing out pulls the low below. */
  peak: number;
  low: number;
}

/** Band texture ratio, over the band and per tenth of it; the last row and column are left out. */
export function textureRatios(result: Rgb, source: Rgb, exemplar: Rgb, map: Map01): TextureFigures {
  const [r, s, e] = [result, source, exemplar].map(gradientEnergy);
  const got = new Float64Array(11);
  const expected = new Float64Array(11);
  const levels = new Float64Array(11);
  const counts = new Float64Array(11);
  const { width, height } = map;
  for (let y = 0; y < height - 1; y++) {
    for (let x = 0; x < width - 1; x++) {
      const p = y * width + x;
      const m = map.data[p];
      const tenth = tenthOf(m);
      if (tenth < 0) continue;
      for (const slot of [tenth, 10]) {
        got[slot] += r[p];
        expected[slot] += (1 - m) * s[p] + m * e[p];
        levels[slot] += m;
        counts[slot]++;
      }
    }
  }
  const perTenth: TextureFigure[] = [];
  for (let tenth = 0; tenth < 10; tenth++) {
    if (counts[tenth] === 0 || expected[tenth] === 0) continue;
    perTenth.push({
      tenth,
      level: levels[tenth] / counts[tenth],
      pixels: counts[tenth],
      ratio: got[tenth] / expected[tenth],
    });
  }
  const ratios = perTenth.map((figure) => figure.ratio);
  return {
    ratio: expected[10] === 0 ? Number.NaN : got[10] / expected[10],
    perTenth,
    peak: ratios.length ? Math.max(...ratios) : Number.NaN,
    low: ratios.length ? Math.min(...ratios) : Number.NaN,
  };
}

/** Fine detail: the grey image minus its 3×3 box mean, one value a pixel. */
export function fineDetail(image: Rgb): Float32Array {
  const { width, height, data } = image;
  const grey = new Float32Array(width * height);
  for (let p = 0; p < grey.length; p++) grey[p] = (data[p * 3] + data[p * 3 + 1] + data[p * 3 + 2]) / 3;
  const detail = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let sum = 0;
      let count = 0;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const yy = y + dy;
          const xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= height || xx >= width) continue;
          sum += grey[yy * width + xx];
          count++;
        }
      }
      detail[y * width + x] = grey[y * width + x] - sum / count;
    }
  }
  return detail;
}

/** Half-width of the window in which the result's detail is fitted from the source's and exemplar's. */
export const DETAIL_WINDOW = 4;

/**
 * Double exposure: around each pixel where 0.4 ≤ m ≤ 0.6, the least-squares fit of the result's fine
 * detail as a·(source detail) + b·(exemplar detail) over a (2·DETAIL_WINDOW + 1)² window; the mean of
 * min(a, b), each clamped to [0, 1]. An alpha blend shows both at once (about 0.5); a result that
 * switches between the two textures in coherent regions scores near 0. NaN when no pixel qualifies.
 */
export function doubleExposure(result: Rgb, source: Rgb, exemplar: Rgb, map: Map01): number {
  const [r, s, e] = [result, source, exemplar].map(fineDetail);
  const { width, height } = map;
  let total = 0;
  let count = 0;
  for (let y = DETAIL_WINDOW; y < height - DETAIL_WINDOW; y++) {
    for (let x = DETAIL_WINDOW; x < width - DETAIL_WINDOW; x++) {
      const m = map.data[y * width + x];
      if (m < 0.4 || m > 0.6) continue;
      let ss = 0;
      let ee = 0;
      let se = 0;
      let rs = 0;
      let re = 0;
      for (let dy = -DETAIL_WINDOW; dy <= DETAIL_WINDOW; dy++) {
        for (let dx = -DETAIL_WINDOW; dx <= DETAIL_WINDOW; dx++) {
          const p = (y + dy) * width + x + dx;
          ss += s[p] * s[p];
          ee += e[p] * e[p];
          se += s[p] * e[p];
          rs += r[p] * s[p];
          re += r[p] * e[p];
        }
      }
      const determinant = ss * ee - se * se;
      if (determinant <= 1e-6 * ss * ee || ss === 0 || ee === 0) continue;
      const a = (rs * ee - re * se) / determinant;
      const b = (re * ss - rs * se) / determinant;
      total += Math.min(clamp01(a), clamp01(b));
      count++;
    }
  }
  return count === 0 ? Number.NaN : total / count;
}

const clamp01 = (value: number) => Math.min(1, Math.max(0, value));

/** The largest channel difference to the source where the map keeps it (m ≤ BLACK); 0 if none. */
export function keepMaxDifference(result: Rgb, source: Rgb, map: Map01): number {
  let largest = 0;
  for (let p = 0; p < map.data.length; p++) {
    if (map.data[p] > BLACK) continue;
    for (let c = 0; c < 3; c++) largest = Math.max(largest, Math.abs(result.data[p * 3 + c] - source.data[p * 3 + c]));
  }
  return largest;
}

/** Mean absolute channel difference to the exemplar where the map is white (m ≥ WHITE); NaN if none. */
export function whiteMeanDifference(result: Rgb, exemplar: Rgb, map: Map01): number {
  return meanDifference(result, exemplar, map, (m) => m >= WHITE);
}

/** Mean absolute channel difference of two results over the band: how much a knob moved it. */
export function bandDifference(a: Rgb, b: Rgb, map: Map01): number {
  return meanDifference(a, b, map, isBand);
}

function meanDifference(a: Rgb, b: Rgb, map: Map01, where: (m: number) => boolean): number {
  let sum = 0;
  let count = 0;
  for (let p = 0; p < map.data.length; p++) {
    if (!where(map.data[p])) continue;
    for (let c = 0; c < 3; c++) sum += Math.abs(a.data[p * 3 + c] - b.data[p * 3 + c]);
    count += 3;
  }
  return count === 0 ? Number.NaN : sum / count;
}

/** The largest |w − m| over the band's tenths: how far the exemplar's share strays from the map. */
export function weightError(weights: readonly WeightFigure[]): number {
  return weights.reduce((largest, figure) => Math.max(largest, Math.abs(figure.weight - figure.level)), 0);
}
