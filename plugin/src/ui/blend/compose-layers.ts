import type { GrayMap } from '@pixels/shared';
import type { PixelRect } from '../../common/export-sizing.ts';
import type { ExportedLayer, ExportedLayers } from '../../messages/exported-layers.ts';
import type { ExpectedAlpha } from '../../png/expected-alpha.ts';
import { decodePng } from '../../png/png-decode.ts';
import type { Raster } from '../../png/raster.ts';
import { mapFromDrawnLayer } from '../images/layer-maps.ts';
import { placeInFrame } from '../images/place-in-frame.ts';

/**
 * Decodes a PNG to RGBA. With `region` (in the image's pixels, inside it) only that rectangle is
 * returned: a decoder may then read back fewer pixels. `expect` says whether the layer is likely
 * opaque (a source) or transparent (an exemplar): the result is exact either way.
 */
export type DecodeImage = (png: Uint8Array, region?: PixelRect, expect?: ExpectedAlpha) => Promise<Raster>;

/** The selection as source-sized images: what the server is sent, before the map is settled. */
export interface ComposedLayers {
  width: number;
  height: number;
  /** RGBA, cropped to the source's own box (its shadow or outside stroke is not part of the edit). */
  source: Raster;
  /** RGBA in z-order, transparent wherever the exemplar does not reach. */
  exemplars: Raster[];
  /** The drawn map layer (white = change), when the selection has one. */
  drawnMap?: GrayMap;
}

/** Decodes one exported layer and puts it at its true offset in a frame of the given size. */
export async function placeExportedLayer(
  layer: ExportedLayer,
  frame: { width: number; height: number },
  decode: DecodeImage,
  expect?: ExpectedAlpha,
): Promise<Raster> {
  const raster = await decode(layer.png, undefined, expect);
  if (raster.width !== layer.placement.width || raster.height !== layer.placement.height) {
    throw new Error(
      `The export of "${layer.name}" decoded to ${raster.width}x${raster.height} but its header said ${layer.placement.width}x${layer.placement.height}; export it again.`,
    );
  }
  return placeInFrame(raster, layer.placement.x, layer.placement.y, frame.width, frame.height);
}

/** Decodes every exported layer and puts it at its true offset in the source's frame. */
export async function composeLayers(layers: ExportedLayers, decode: DecodeImage = decodePng): Promise<ComposedLayers> {
  const { frame } = layers;
  const source = await placeExportedLayer(layers.source, frame, decode, 'opaque');
  const exemplars = await Promise.all(
    layers.exemplars.map((layer) => placeExportedLayer(layer, frame, decode, 'transparent')),
  );
  const drawnMap = layers.map
    ? mapFromDrawnLayer(await placeExportedLayer(layers.map, frame, decode, 'transparent'))
    : undefined;
  return { width: frame.width, height: frame.height, source, exemplars, ...(drawnMap ? { drawnMap } : {}) };
}
