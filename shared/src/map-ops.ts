/**
 * Edit-map operations as pure functions, shared by the server, the CLI and the plugin.
 * A map is one float per pixel in [0, 1], row-major.
 */
export interface GrayMap {
  readonly data: Float32Array;
  readonly width: number;
  readonly height: number;
}

export const FALLOFF_CURVES = ['linear', 'smooth', 'ease-out', 'ease-in'] as const;
/** Shape of the feathered edge, from the shape's border (1) out to the feather's end (0). */
export type FalloffCurve = (typeof FALLOFF_CURVES)[number];

export interface ShapeToMapOptions {
  /** Pixels the shape's edge moves outward (negative: inward) before it softens. Default 0, range -512..512. */
  grow: number;
  /** Width in pixels of the soft band, centred on the grown edge. Default 32, range 0..1024. */
  feather: number;
  /** Default 'smooth'. */
  falloff?: FalloffCurve;
}

/** A constant map. */
export function filledMap(width: number, height: number, value: number): GrayMap {
  return { data: new Float32Array(width * height).fill(value), width, height };
}

/** 1 - map: turns an edit map (white = change) into a hold map (white = keep) and back. */
export function invertMap(map: GrayMap): GrayMap {
  const data = new Float32Array(map.data.length);
  for (let i = 0; i < data.length; i++) data[i] = 1 - map.data[i];
  return { data, width: map.width, height: map.height };
}

/** Per-pixel maximum of maps of one size (the union of several exemplars' shapes). */
export function unionMaps(maps: readonly GrayMap[]): GrayMap {
  const [first, ...rest] = maps;
  if (!first) throw new Error('unionMaps needs at least one map');
  const data = Float32Array.from(first.data);
  for (const map of rest) {
    if (map.width !== first.width || map.height !== first.height) {
      throw new Error(`unionMaps: map is ${map.width}x${map.height}, expected ${first.width}x${first.height}`);
    }
    for (let i = 0; i < data.length; i++) if (map.data[i] > data[i]) data[i] = map.data[i];
  }
  return { data, width: first.width, height: first.height };
}

function applyFalloff(curve: FalloffCurve, t: number): number {
  switch (curve) {
    case 'linear':
      return t;
    case 'smooth':
      return t * t * (3 - 2 * t);
    case 'ease-out':
      return 1 - (1 - t) * (1 - t);
    case 'ease-in':
      return t * t;
  }
}

/**
 * An edit map from a shape (an exemplar's alpha, shape = alpha ≥ 0.5): 1 well inside the grown
 * shape, 0 well outside, and a soft band `feather` pixels wide centred on the grown edge. The band
 * straddles the edge on purpose: its inner half holds the exemplar's border partly to the source
 * and its outer half frees the source around it, so the exemplar blends in both ways.
 */
export function shapeToMap(alpha: GrayMap, options: ShapeToMapOptions): GrayMap {
  const { width, height } = alpha;
  const falloff = options.falloff ?? 'smooth';
  const outside = distanceToShape(alpha, 0.5);
  const inside = distanceToShape(invertMap(alpha), 0.5);
  const half = options.feather / 2;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) {
    // Signed distance to the shape's edge, which lies half a pixel from the pixel centres beside it.
    const signed = outside[i] > 0 ? outside[i] - 0.5 : 0.5 - inside[i];
    const beyond = signed - options.grow;
    if (beyond <= -half) data[i] = 1;
    else if (beyond >= half) data[i] = 0;
    else data[i] = applyFalloff(falloff, (half - beyond) / options.feather);
  }
  return { data, width, height };
}

/**
 * Euclidean distance from every pixel to the nearest pixel whose value is at least `level`
 * (0 inside the shape; Infinity everywhere when the shape is empty). Exact, in linear time:
 * Felzenszwalb and Huttenlocher's separable squared-distance transform.
 */
export function distanceToShape(map: GrayMap, level: number): Float32Array {
  const { width, height } = map;
  const squared = new Float64Array(width * height);
  for (let i = 0; i < squared.length; i++) squared[i] = map.data[i] >= level ? 0 : Number.POSITIVE_INFINITY;
  const line = new Float64Array(Math.max(width, height));
  const out = new Float64Array(Math.max(width, height));
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) line[y] = squared[y * width + x];
    transformLine(line, height, out);
    for (let y = 0; y < height; y++) squared[y * width + x] = out[y];
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) line[x] = squared[y * width + x];
    transformLine(line, width, out);
    for (let x = 0; x < width; x++) squared[y * width + x] = out[x];
  }
  const distance = new Float32Array(width * height);
  for (let i = 0; i < distance.length; i++) distance[i] = Math.sqrt(squared[i]);
  return distance;
}

/** One dimension of the squared-distance transform: out[q] = min_p (q - p)^2 + f[p]. */
function transformLine(f: Float64Array, n: number, out: Float64Array): void {
  const vertices = new Int32Array(n);
  const bounds = new Float64Array(n + 1);
  let k = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] === Number.POSITIVE_INFINITY) continue;
    while (k >= 0) {
      const p = vertices[k];
      const s = (f[q] + q * q - (f[p] + p * p)) / (2 * q - 2 * p);
      if (s <= bounds[k]) k--;
      else break;
    }
    k++;
    vertices[k] = q;
    bounds[k] =
      k === 0
        ? Number.NEGATIVE_INFINITY
        : (f[q] + q * q - (f[vertices[k - 1]] + vertices[k - 1] ** 2)) / (2 * q - 2 * vertices[k - 1]);
    bounds[k + 1] = Number.POSITIVE_INFINITY;
  }
  if (k < 0) {
    out.fill(Number.POSITIVE_INFINITY, 0, n);
    return;
  }
  let j = 0;
  for (let q = 0; q < n; q++) {
    while (bounds[j + 1] < q) j++;
    const p = vertices[j];
    out[q] = (q - p) * (q - p) + f[p];
  }
}

/** Box-average a map down (or nearest-sample it up) to another grid; positions are kept. */
export function resampleMap(map: GrayMap, width: number, height: number): GrayMap {
  const data = new Float32Array(width * height);
  const scaleX = map.width / width;
  const scaleY = map.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = y * scaleY;
    const y1 = Math.max(y0 + 1e-9, (y + 1) * scaleY);
    for (let x = 0; x < width; x++) {
      const x0 = x * scaleX;
      const x1 = Math.max(x0 + 1e-9, (x + 1) * scaleX);
      let sum = 0;
      let area = 0;
      for (let sy = Math.floor(y0); sy < Math.min(map.height, Math.ceil(y1)); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.min(map.width, Math.ceil(x1)); sx++) {
          const wx = Math.min(x1, sx + 1) - Math.max(x0, sx);
          sum += map.data[sy * map.width + sx] * wx * wy;
          area += wx * wy;
        }
      }
      data[y * width + x] = area > 0 ? sum / area : 0;
    }
  }
  return { data, width, height };
}
