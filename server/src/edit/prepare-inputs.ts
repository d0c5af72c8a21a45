import {
  type EditSettings,
  type FitMode,
  type GrayMap,
  invertMap,
  PixelsError,
  resampleMap,
  shapeToMap,
  unionMaps,
} from '@pixels/shared';
import { decodeLuminance, decodeRgba, placeOnCanvas, type RawImage, resizeRaw } from '../images/codec.ts';
import { channelToMap } from '../images/pixel-tensors.ts';
import { type ImageHeader, probeImage } from '../images/probe.ts';
import type { EditInputs, InputHeaders } from './edit-runner.ts';

/** Inputs decoded and placed in the source frame, at the source's own size. */
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
}

/** Aspect ratios may differ by this fraction (rounding in exports) before a map is refused. */
const ASPECT_TOLERANCE = 0.01;
/** An exemplar whose alpha is at least this everywhere counts as opaque and full-frame. */
const OPAQUE_ALPHA = 0.999;

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

function isOpaque(alpha: GrayMap): boolean {
  return alpha.data.every((value) => value >= OPAQUE_ALPHA);
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

/**
 * Validates and decodes every input, then places exemplars and the map in the source frame.
 * Everything is checked from headers before any pixel is decoded; images are decoded upright
 * (EXIF orientation applied), so the map and the result follow the upright source.
 */
export async function prepareInputs(
  settings: EditSettings,
  inputs: EditInputs,
  maxPixels: number,
  maxExemplars: number,
): Promise<PreparedInputs> {
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
  const source = await decode(inputs.source, 'source');
  const { width, height } = source;
  const exemplars: RawImage[] = [];
  const alphas: GrayMap[] = [];
  for (const [k, bytes] of inputs.exemplars.entries()) {
    const placed = await fitToFrame(await decode(bytes, exemplarRole(k)), width, height, settings.fit);
    exemplars.push(pasteOver(source, placed));
    alphas.push(channelToMap(placed, 3));
  }

  let editMap: GrayMap;
  let exemplarMaps: GrayMap[];
  if (inputs.map) {
    let luminance: RawImage;
    try {
      luminance = await decodeLuminance(inputs.map, maxPixels);
    } catch (error) {
      throw new PixelsError(
        'invalid_image',
        'The map image could not be decoded: its pixel data is damaged. Export it again and resend.',
        'map',
        { cause: error },
      );
    }
    const map = resampleMap(channelToMap(luminance, 0), width, height);
    editMap = settings.invertMap ? invertMap(map) : map;
    exemplarMaps = exemplars.map(() => editMap);
  } else {
    if (alphas.every(isOpaque)) {
      throw new PixelsError(
        'missing_part',
        'The exemplar is opaque and covers the whole source, so there is no shape to build an edit map from. ' +
          'Add an edit map (white = change), or give the exemplar transparency where the source should stay.',
        'map',
      );
    }
    exemplarMaps = alphas.map((alpha) => shapeToMap(alpha, { grow: settings.grow, feather: settings.feather }));
    editMap = unionMaps(exemplarMaps);
  }
  return { source, exemplars, alphas, editMap, exemplarMaps };
}
