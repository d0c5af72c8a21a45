import { type EditSettings, type FitMode, type GrayMap, PixelsError, shapeToMap, unionMaps } from '@pixels/shared';
import { decodeLuminance, decodeRgba, placeOnCanvas, type RawImage, resizeRaw } from '../images/codec.ts';
import { channelToMap } from '../images/pixel-tensors.ts';
import { type ImageHeader, probeImage } from '../images/probe.ts';
import { cropRaw, type FrameRows, isOpaqueEverywhere, type Rect, rectInRows } from '../images/raw-rect.ts';
import type { EditInputs, InputHeaders } from './edit-runner.ts';

/** Inputs decoded and placed in the source frame, 8-bit and at the source's own size. */
export interface DecodedInputs {
  /** The source's upright size. */
  source: { width: number; height: number };
  /** The source's RGBA pixels: all its rows, or those decodeInputs' `readSourceRows` gave. */
  sourceRows: FrameRows;
  /** RGBA exemplars in z-order, placed in the source frame; their alpha is their coverage. */
  exemplars: RawImage[];
  /** The user's edit map as one 8-bit channel (white = change, already inverted if asked), when given. */
  map?: RawImage;
  /** What was done to the inputs that the user did not spell out (an exemplar rescaled), one sentence each. */
  notes: string[];
}

/** Inputs as the engine takes them, for one rectangle of the source frame (the crop, or all of it). */
export interface PreparedInputs {
  /** RGBA source. */
  source: RawImage;
  /** RGBA exemplars in z-order, each pasted over the source by its own alpha (alpha kept). */
  exemplars: RawImage[];
  /** Each exemplar's alpha in the source frame. */
  alphas: GrayMap[];
  /** The edit map in user polarity (white = change), after `invertMap`. */
  editMap: GrayMap;
  /** Per-exemplar maps for iterative mode (the shared map when the user gave one). */
  exemplarMaps: GrayMap[];
  /** What was done to the inputs that the user did not spell out (an exemplar rescaled), one sentence each. */
  notes: string[];
}

/** Aspect ratios may differ by this fraction (rounding in exports) before a map is refused. */
const ASPECT_TOLERANCE = 0.01;

/** Fits an exemplar of another size into the source frame (see FIT_MODES in the settings). */
async function fitToFrame(exemplar: RawImage, width: number, height: number, fit: FitMode): Promise<RawImage> {
  if (exemplar.width === width && exemplar.height === height) return exemplar;
  switch (fit) {
    case 'stretch':
      return resizeRaw(exemplar, width, height, 'fill');
    case 'contain':
    case 'cover':
      return resizeRaw(exemplar, width, height, fit);
    case 'center':
      return placeOnCanvas(
        exemplar,
        width,
        height,
        Math.round((width - exemplar.width) / 2),
        Math.round((height - exemplar.height) / 2),
      );
  }
}

const FIT_DOES: Record<FitMode, string> = {
  contain: 'scaled to fit inside it, transparent where it does not reach',
  cover: 'scaled to cover it and centre-cropped',
  stretch: 'stretched to its size',
  center: 'centred at its own size, cropped or with transparent bands',
};

/** One line for an exemplar whose size is not the source's: what the fit mode did to it, and why. */
function fitNote(role: string, exemplar: RawImage, width: number, height: number, fit: FitMode): string | undefined {
  if (exemplar.width === width && exemplar.height === height) return undefined;
  const name = role[0].toUpperCase() + role.slice(1);
  return (
    `${name} is ${exemplar.width}x${exemplar.height} and the source ${width}x${height}, ` +
    `so it was ${FIT_DOES[fit]} (fit ${fit}; choose another fit to change this).`
  );
}

/** Pastes an RGBA layer over an RGBA base by the layer's alpha, keeping the layer's alpha. */
function pasteOver(base: RawImage, layer: RawImage): RawImage {
  const data = new Uint8Array(layer.data.length);
  for (let i = 0; i < data.length; i += 4) {
    const alpha = layer.data[i + 3] / 255;
    for (let c = 0; c < 3; c++) data[i + c] = Math.round(layer.data[i + c] * alpha + base.data[i + c] * (1 - alpha));
    data[i + 3] = layer.data[i + 3];
  }
  return { ...layer, data };
}

/** Each image's header: as the HTTP layer probed it when it passed them on, else probed here (the CLI). */
async function readHeaders(
  inputs: EditInputs,
  maxPixels: number,
  exemplarRole: (k: number) => string,
): Promise<InputHeaders> {
  if (inputs.headers) return inputs.headers;
  const exemplars: ImageHeader[] = [];
  for (const [k, bytes] of inputs.exemplars.entries())
    exemplars.push(await probeImage(bytes, exemplarRole(k), maxPixels));
  return {
    source: await probeImage(inputs.source, 'source', maxPixels),
    exemplars,
    ...(inputs.map ? { map: await probeImage(inputs.map, 'map', maxPixels) } : {}),
  };
}

/** Refuses a map whose aspect ratio differs from the source's (both upright), before anything is decoded. */
export function checkMapMatchesSource(source: ImageHeader, map: ImageHeader): void {
  const sourceAspect = source.width / source.height;
  const mapAspect = map.width / map.height;
  if (Math.abs(mapAspect / sourceAspect - 1) > ASPECT_TOLERANCE) {
    throw new PixelsError(
      'map_mismatch',
      `The map is ${map.width}x${map.height} but the source is ${source.width}x${source.height}: ` +
        "their aspect ratios differ (both as shown upright, after any EXIF orientation). Export the map at the source frame's size.",
      'map',
    );
  }
}

/** A promise's outcome held until it is asked for, so that a rejection is not left unobserved meanwhile. */
type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  );
}

/** The decoded inputs but the source's pixels: what an edit's region is planned from. */
export type DecodedLayout = Omit<DecodedInputs, 'sourceRows'>;

/**
 * Reads the source's rows an edit needs another way than decoding it whole (see
 * images/source-rows.ts), given the layout; undefined to have it decoded whole after all.
 */
export type ReadSourceRows = (layout: DecodedLayout) => Promise<FrameRows | undefined>;

/**
 * Validates and decodes every input once, then places exemplars and the map in the source frame,
 * as 8-bit buffers. Everything is checked from headers before any pixel is decoded; images are
 * decoded upright (EXIF orientation applied), so the map and the result follow the upright source.
 * The source is decoded beside the exemplars and the map, unless `readSourceRows` is given: it is
 * then asked for the source's rows once the exemplars and the map are placed, and the source is
 * decoded whole only when it gives none (or another input fails to decode, to name the source's
 * damage first).
 */
export async function decodeInputs(
  settings: EditSettings,
  inputs: EditInputs,
  maxPixels: number,
  maxExemplars: number,
  readSourceRows?: ReadSourceRows,
): Promise<DecodedInputs> {
  if (inputs.exemplars.length === 0) {
    throw new PixelsError('missing_part', 'No exemplar was given: add at least one exemplar image.', 'exemplar');
  }
  if (inputs.exemplars.length > maxExemplars) {
    throw new PixelsError(
      'too_many_exemplars',
      `${inputs.exemplars.length} exemplars were given; at most ${maxExemplars} are allowed in one edit.`,
      'exemplar',
    );
  }
  const exemplarRole = (k: number) => (inputs.exemplars.length === 1 ? 'exemplar' : `exemplar ${k + 1}`);
  const headers = await readHeaders(inputs, maxPixels, exemplarRole);
  if (headers.map) checkMapMatchesSource(headers.source, headers.map);

  const decode = async (bytes: Uint8Array, role: string) => {
    try {
      return await decodeRgba(bytes, maxPixels);
    } catch (error) {
      throw new PixelsError(
        'invalid_image',
        `The ${role} image could not be decoded: its pixel data is damaged. Export it again and resend.`,
        role,
        { cause: error },
      );
    }
  };
  // Decoded side by side: sharp works on its own threads, and a 4096² PNG takes a while. Failures
  // are reported in a fixed order, whichever decode fails first: the source, the exemplars, the map.
  let sourceDecode: Promise<Settled<RawImage>> | undefined;
  const decodeSource = () => {
    sourceDecode ??= settle(decode(inputs.source, 'source'));
    return sourceDecode;
  };
  if (!readSourceRows) decodeSource();
  const exemplarDecodes = inputs.exemplars.map((bytes, k) => settle(decode(bytes, exemplarRole(k))));
  const mapDecode = inputs.map ? settle(decodeLuminance(inputs.map, maxPixels)) : undefined;
  const sourceOrThrow = async () => {
    const source = await decodeSource();
    if (!source.ok) throw source.error;
    return source.value;
  };
  const sourceRowsFor = async (layout: DecodedLayout): Promise<DecodedInputs> => {
    const rows = (await readSourceRows?.(layout)) ?? { image: await sourceOrThrow(), top: 0 };
    return { ...layout, sourceRows: rows };
  };
  const decodedExemplars: RawImage[] = [];
  for (const decoded of await Promise.all(exemplarDecodes)) {
    if (!decoded.ok) {
      await sourceOrThrow();
      throw decoded.error;
    }
    decodedExemplars.push(decoded.value);
  }
  // The upright size, as the decoder delivers the source (probeImage applies the orientation).
  const { width, height } = headers.source;
  const exemplars: RawImage[] = [];
  const notes: string[] = [];
  for (const [k, exemplar] of decodedExemplars.entries()) {
    const note = fitNote(exemplarRole(k), exemplar, width, height, settings.fit);
    if (note) notes.push(note);
    exemplars.push(await fitToFrame(exemplar, width, height, settings.fit));
  }
  const placed = { exemplars, notes };
  if (!mapDecode) {
    if (exemplars.every(isOpaqueEverywhere)) {
      await sourceOrThrow();
      throw new PixelsError(
        'missing_part',
        'The exemplar is opaque and covers the whole source, so there is no shape to build an edit map from. ' +
          'Add an edit map (white = change), or give the exemplar transparency where the source should stay.',
        'map',
      );
    }
    return sourceRowsFor({ source: { width, height }, ...placed });
  }
  const decodedMap = await mapDecode;
  if (!decodedMap.ok) {
    await sourceOrThrow();
    throw new PixelsError(
      'invalid_image',
      'The map image could not be decoded: its pixel data is damaged. Export it again and resend.',
      'map',
      { cause: decodedMap.error },
    );
  }
  const luminance = decodedMap.value;
  // A triangle filter: no ringing, so black stays exactly black and the edit region does not spread.
  const map = await resizeRaw(luminance, width, height, 'fill', 'linear');
  if (settings.invertMap) for (let i = 0; i < map.data.length; i++) map.data[i] = 255 - map.data[i];
  return sourceRowsFor({ source: { width, height }, ...placed, map });
}

/**
 * The engine's inputs for one rectangle of the frame: crops of the 8-bit buffers, turned into
 * float maps only at the crop's size. A map built from the exemplars' shapes is built in the crop,
 * which holds the whole shape and its feather (see findEditRegion), so it matches the full frame's.
 */
export function cropInputs(decoded: DecodedInputs, settings: EditSettings, rect: Rect): PreparedInputs {
  const source = cropRaw(decoded.sourceRows.image, rectInRows(decoded.sourceRows, rect));
  // Pasted over the source only here, in the crop: outside it the exemplars' colours are never read.
  const exemplars = decoded.exemplars.map((exemplar) => pasteOver(source, cropRaw(exemplar, rect)));
  const alphas = exemplars.map((exemplar) => channelToMap(exemplar, 3));
  if (decoded.map) {
    const editMap = channelToMap(cropRaw(decoded.map, rect), 0);
    return { source, exemplars, alphas, editMap, exemplarMaps: exemplars.map(() => editMap), notes: decoded.notes };
  }
  const exemplarMaps = alphas.map((alpha) => shapeToMap(alpha, { grow: settings.grow, feather: settings.feather }));
  return { source, exemplars, alphas, editMap: unionMaps(exemplarMaps), exemplarMaps, notes: decoded.notes };
}

/** Decodes and places every input over the whole frame (see decodeInputs and cropInputs). */
export async function prepareInputs(
  settings: EditSettings,
  inputs: EditInputs,
  maxPixels: number,
  maxExemplars: number,
): Promise<PreparedInputs> {
  const decoded = await decodeInputs(settings, inputs, maxPixels, maxExemplars);
  return cropInputs(decoded, settings, { left: 0, top: 0, width: decoded.source.width, height: decoded.source.height });
}
