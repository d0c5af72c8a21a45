/**
 * Crop to the edit: find the rectangle an edit can change, pad it with context, cut that crop out of
 * the full-resolution inputs and put the processed crop back. Outside the crop the source's pixels
 * are never touched, so the model's cost and the result's sharpness follow the edit, not the canvas
 * (A1111's "inpaint only masked" and Krita's selection crop work the same way).
 *
 * Everything here works on 8-bit buffers at the source's size: no float copy of a full frame.
 */
import type { EditSettings } from '@pixels/shared';
import type { RawImage } from '../images/codec.ts';
import { beginPngEncode, type PendingPng } from '../images/png-encoder.ts';
import { type FrameRows, isOpaqueEverywhere, isWholeFrame, type Rect, rectInRows } from '../images/raw-rect.ts';
import type { DecodedLayout } from './prepare-inputs.ts';
import type { Size } from './working-size.ts';

/**
 * Context around the region by default, for a latent model: this fraction of the region's long
 * side (the crop is scaled to the model's native area, so its context scales with it)...
 */
export const DEFAULT_MARGIN_FRACTION = 1 / 8;
/** ...but never fewer pixels than this, so a small edit still sees its surroundings. */
export const DEFAULT_MARGIN_FLOOR = 32;
/**
 * Context for a pixel-space model (the built-in one), which runs the crop 1:1: a fixed reach in
 * pixels, not a fraction, since what it needs is its receptive field, not a share of the edit.
 * Measured: with a hard-edged map (the worst case, white up to the region's edge), replacing all
 * but 32 px of the context around a 300² region changed no pixel inside it by more than one grey
 * level, 24 px by two, 16 px by seven (its widest blur reaches 24 px a call); a map built from the
 * exemplar's shape fades to 0 inside the region and did not change at all. A1111's "only masked"
 * padding is 32 px too. Context no exemplar covers is left out for it (see planEditRegion). Tests
 * hold both claims (test/server/edit/edit-pipeline.test.ts).
 */
export const PIXEL_SPACE_MARGIN = 32;

/** What reaches into the edit region: the map and the exemplars, all at the source's size. */
export interface RegionInputs {
  width: number;
  height: number;
  /** One-channel edit map (white = change), when the user gave one. */
  map?: RawImage;
  /** RGBA exemplars in the source frame; their alpha is their coverage. */
  exemplars: readonly RawImage[];
  /**
   * How far beyond an exemplar's shape a map built from it reaches (grow + feather / 2), in pixels;
   * 0 when a map was given.
   */
  shapeReach: number;
}

/** Grows a bounding box to take in a rectangle. */
class Bounds {
  left = Number.POSITIVE_INFINITY;
  top = Number.POSITIVE_INFINITY;
  right = Number.NEGATIVE_INFINITY;
  bottom = Number.NEGATIVE_INFINITY;

  add(left: number, top: number, right: number, bottom: number): void {
    this.left = Math.min(this.left, left);
    this.top = Math.min(this.top, top);
    this.right = Math.max(this.right, right);
    this.bottom = Math.max(this.bottom, bottom);
  }

  get isEmpty(): boolean {
    return this.right < this.left;
  }
}

type Box = [left: number, top: number, right: number, bottom: number];

/**
 * Bounding box (inclusive) of the pixels whose `channel` is above 0, or undefined when none is.
 * Rows are scanned from each end, so only empty rows are read whole.
 */
function nonZeroBounds(image: RawImage, channel: number): Box | undefined {
  const { data, width, height, channels } = image;
  // An RGBA alpha is read a whole pixel at a time (the top byte of a little-endian word): four
  // times fewer reads over a 4096² frame, in a loop of its own so that each stays monomorphic.
  if (channels === 4 && channel === 3 && data.byteOffset % 4 === 0 && IS_LITTLE_ENDIAN) {
    return alphaWordBounds(new Uint32Array(data.buffer, data.byteOffset, width * height), width, height);
  }
  let top = -1;
  let bottom = -1;
  let left = width;
  let right = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width * channels + channel;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (data[row + x * channels] !== 0) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    if (top < 0) top = y;
    bottom = y;
    if (first < left) left = first;
    for (let x = width - 1; x > right; x--) {
      if (data[row + x * channels] !== 0) {
        right = x;
        break;
      }
    }
  }
  return top < 0 ? undefined : [left, top, Math.max(left, right), bottom];
}

/**
 * nonZeroBounds of the alpha of little-endian RGBA pixels, one word per pixel. A row whose bytes
 * are all zero (fully transparent black, as exporters write what an exemplar does not cover) is
 * passed over by one native compare, a 4096² exemplar's empty rows in milliseconds.
 */
function alphaWordBounds(pixels: Uint32Array, width: number, height: number): Box | undefined {
  const bytes = Buffer.from(pixels.buffer, pixels.byteOffset, width * height * 4);
  const emptyRow = Buffer.alloc(width * 4);
  let top = -1;
  let bottom = -1;
  let left = width;
  let right = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    if (bytes.compare(emptyRow, 0, emptyRow.length, row * 4, (row + width) * 4) === 0) continue;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (pixels[row + x] >= 0x01000000) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    if (top < 0) top = y;
    bottom = y;
    if (first < left) left = first;
    for (let x = width - 1; x > right; x--) {
      if (pixels[row + x] >= 0x01000000) {
        right = x;
        break;
      }
    }
  }
  return top < 0 ? undefined : [left, top, Math.max(left, right), bottom];
}

const IS_LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;

/**
 * Each exemplar's coverage box, kept: planning asks for it twice (the edit region and the context
 * it covers), and a 4096² exemplar is 16 M pixels to scan.
 */
const coverageBoxes = new WeakMap<RawImage, Box | null>();

function exemplarBounds(exemplar: RawImage): Box | undefined {
  let box = coverageBoxes.get(exemplar);
  if (box === undefined) {
    box = nonZeroBounds(exemplar, 3) ?? null;
    coverageBoxes.set(exemplar, box);
  }
  return box ?? undefined;
}

function clampToFrame(bounds: Bounds, width: number, height: number): Rect | undefined {
  if (bounds.isEmpty) return undefined;
  const left = Math.max(0, Math.floor(bounds.left));
  const top = Math.max(0, Math.floor(bounds.top));
  const right = Math.min(width - 1, Math.ceil(bounds.right));
  const bottom = Math.min(height - 1, Math.ceil(bounds.bottom));
  if (right < left || bottom < top) return undefined;
  return { left, top, width: right - left + 1, height: bottom - top + 1 };
}

/**
 * The rectangle the edit can change: every map pixel above zero, unioned with the exemplars'
 * coverage (alpha above zero, reached out by `shapeReach` when the map is built from the shapes).
 * Undefined when nothing is edited. Exemplars opaque over the whole frame are left out when a map
 * is given: they cover everything, but only where the map is above zero do they take effect.
 */
export function findEditRegion(inputs: RegionInputs): Rect | undefined {
  const bounds = new Bounds();
  if (inputs.map) {
    const box = nonZeroBounds(inputs.map, 0);
    if (box) bounds.add(...box);
  }
  // A shape-built map reaches past the shape's edge, which lies half a pixel beyond the last pixel.
  const reach = inputs.map ? 0 : Math.max(0, inputs.shapeReach) + 1;
  for (const exemplar of inputs.exemplars) {
    if (inputs.map && isOpaqueEverywhere(exemplar)) continue;
    const box = exemplarBounds(exemplar);
    if (box) bounds.add(box[0] - reach, box[1] - reach, box[2] + reach, box[3] + reach);
  }
  return clampToFrame(bounds, inputs.width, inputs.height);
}

/** What the default context depends on: the model's kind (1 image pixel per latent cell is pixel space). */
export interface MarginModel {
  vaeScaleFactor: number;
}

/**
 * The default context by model kind: PIXEL_SPACE_MARGIN for a pixel-space model; for a latent
 * one an eighth of the region's long side, at least 32 pixels.
 */
export function defaultMargin(region: Size, model: MarginModel): number {
  if (model.vaeScaleFactor === 1) return PIXEL_SPACE_MARGIN;
  return Math.max(DEFAULT_MARGIN_FLOOR, Math.round(DEFAULT_MARGIN_FRACTION * Math.max(region.width, region.height)));
}

/** The region grown by `margin` pixels on every side, within the frame. */
export function padRegion(region: Rect, frame: Size, margin: number): Rect {
  const left = Math.max(0, region.left - margin);
  const top = Math.max(0, region.top - margin);
  const right = Math.min(frame.width, region.left + region.width + margin);
  const bottom = Math.min(frame.height, region.top + region.height + margin);
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * Writes `crop` (same channels) into `target` at `rect`, in place: the full-size frame is reused
 * rather than copied, so a 4096² edit holds one full RGBA frame, not two.
 */
export function pasteCropInto(target: RawImage, crop: RawImage, rect: Rect): RawImage {
  if (crop.width !== rect.width || crop.height !== rect.height || crop.channels !== target.channels) {
    throw new Error(
      `pasteCropInto: a ${crop.width}x${crop.height}x${crop.channels} crop for a ${rect.width}x${rect.height} rect of a ${target.channels}-channel frame`,
    );
  }
  const rowBytes = rect.width * target.channels;
  for (let y = 0; y < rect.height; y++) {
    const to = ((rect.top + y) * target.width + rect.left) * target.channels;
    target.data.set(crop.data.subarray(y * rowBytes, (y + 1) * rowBytes), to);
  }
  return target;
}

/**
 * Blends a crop into the frame with a weight that rises from 0 at the crop's edge to 1 at `inner`
 * (the unpadded region), for results that are not pasted back by the map: without it the crop's
 * rectangle would show as a seam. Edges that lie on the frame's border get no ramp.
 */
export function blendCropInto(target: RawImage, crop: RawImage, rect: Rect, inner: Rect): RawImage {
  const channels = target.channels;
  const ramp = (distance: number, span: number) => (span <= 0 ? 1 : Math.min(1, Math.max(0, distance / span)));
  const leftSpan = rect.left === 0 ? 0 : inner.left - rect.left;
  const topSpan = rect.top === 0 ? 0 : inner.top - rect.top;
  const rightEdge = rect.left + rect.width;
  const bottomEdge = rect.top + rect.height;
  const rightSpan = rightEdge === target.width ? 0 : rightEdge - (inner.left + inner.width);
  const bottomSpan = bottomEdge === target.height ? 0 : bottomEdge - (inner.top + inner.height);
  for (let y = 0; y < rect.height; y++) {
    const wy = Math.min(ramp(y + 0.5, topSpan), ramp(rect.height - y - 0.5, bottomSpan));
    for (let x = 0; x < rect.width; x++) {
      const weight = Math.min(wy, ramp(x + 0.5, leftSpan), ramp(rect.width - x - 0.5, rightSpan));
      const to = ((rect.top + y) * target.width + rect.left + x) * channels;
      const from = (y * rect.width + x) * channels;
      for (let c = 0; c < channels; c++) {
        target.data[to + c] = Math.round(crop.data[from + c] * weight + target.data[to + c] * (1 - weight));
      }
    }
  }
  return target;
}

/**
 * Said when even the bare region does not fit the model's working size: the edit then comes back
 * at less than full resolution (tiling such regions is not implemented).
 */
export function regionWarnings(region: Rect, crop: Rect, working: Size): string[] {
  if (working.width >= region.width && working.height >= region.height) return [];
  const scale = Math.min(working.width / crop.width, working.height / crop.height);
  return [
    `The edit region (${region.width}x${region.height} px) is larger than the model's working size ` +
      `(${working.width}x${working.height}), so it is processed at ${Math.round(100 * scale)}% of its resolution; ` +
      'split the edit into smaller ones for full detail.',
  ];
}

/** Where an edit runs: the region it touches and the crop (region plus context) the model sees. */
export interface EditRegion {
  region: Rect;
  crop: Rect;
}

/**
 * Plans the crop for `settings.region`: 'full' is the whole frame; 'auto' is the edit region padded
 * by `regionMargin` (default: defaultMargin for `model`'s kind, and for a pixel-space model only
 * as far as the exemplars cover). An edit that touches nothing runs on the whole frame.
 */
export function planEditRegion(
  decoded: DecodedLayout,
  settings: Pick<EditSettings, 'region' | 'regionMargin' | 'grow' | 'feather'>,
  model: MarginModel,
): EditRegion {
  const { width, height } = decoded.source;
  const frame = { left: 0, top: 0, width, height };
  const region =
    findEditRegion({
      width,
      height,
      map: decoded.map,
      exemplars: decoded.exemplars,
      shapeReach: decoded.map ? 0 : settings.grow + settings.feather / 2,
    }) ?? frame;
  if (settings.region === 'full') return { region, crop: frame };
  const padded = padRegion(region, frame, settings.regionMargin ?? defaultMargin(region, model));
  if (settings.regionMargin !== undefined || model.vaeScaleFactor !== 1) return { region, crop: padded };
  // The built-in pixel-space model reads its surroundings only where an exemplar covers them (it
  // works on where the exemplar differs from the source), so context nothing covers is left out:
  // a map built from the exemplar's shape already holds all of its coverage, and needs none.
  const covered = coverageBounds(decoded.exemplars, width, height);
  const context = covered && intersect(padded, covered);
  return { region, crop: context ? hull(region, context) : region };
}

/** Bounding box of every exemplar's coverage (alpha above 0); undefined when none covers anything. */
function coverageBounds(exemplars: readonly RawImage[], width: number, height: number): Rect | undefined {
  const bounds = new Bounds();
  for (const exemplar of exemplars) {
    if (isOpaqueEverywhere(exemplar)) return { left: 0, top: 0, width, height };
    const box = exemplarBounds(exemplar);
    if (box) bounds.add(...box);
  }
  return clampToFrame(bounds, width, height);
}

function intersect(a: Rect, b: Rect): Rect | undefined {
  const left = Math.max(a.left, b.left);
  const top = Math.max(a.top, b.top);
  const right = Math.min(a.left + a.width, b.left + b.width);
  const bottom = Math.min(a.top + a.height, b.top + b.height);
  return right > left && bottom > top ? { left, top, width: right - left, height: bottom - top } : undefined;
}

function hull(a: Rect, b: Rect): Rect {
  const left = Math.min(a.left, b.left);
  const top = Math.min(a.top, b.top);
  const right = Math.max(a.left + a.width, b.left + b.width);
  const bottom = Math.max(a.top + a.height, b.top + b.height);
  return { left, top, width: right - left, height: bottom - top };
}

/**
 * Puts the processed crop back into the source's rows (in place), which hold the crop's rows at
 * least. A crop pasted back by the map already equals the source at its border, where the map is
 * 0; one that was not is blended in across its context margin.
 */
export function compositeEditRegion(
  source: FrameRows,
  frame: Size,
  crop: RawImage,
  plan: EditRegion,
  isPastedBack: boolean,
): RawImage {
  if (isWholeFrame(plan.crop, frame)) return crop;
  const rect = rectInRows(source, plan.crop);
  if (isPastedBack) return pasteCropInto(source.image, crop, rect);
  return blendCropInto(source.image, crop, rect, { ...plan.region, top: plan.region.top - source.top });
}

/** The rows an edit in `plan` changes: the crop's. */
export function cropRows(plan: EditRegion): { from: number; to: number } {
  return { from: plan.crop.top, to: plan.crop.top + plan.crop.height };
}

/**
 * Begins the result's PNG before the model runs, for a source decoded whole whose own PNG is not
 * reused (see images/source-rows.ts for one that is): outside the crop's rows the result is the
 * source, row for row, so those rows are compressed now on zlib's threads. Undefined when the crop
 * is the whole frame. `finish` once the crop is composited.
 */
export function beginResultPng(source: RawImage, plan: EditRegion): PendingPng | undefined {
  if (isWholeFrame(plan.crop, source)) return undefined;
  return beginPngEncode(source, cropRows(plan));
}
