import type { GrayMap } from '@pixels/shared';
import type { ExportedLayer, ExportedLayers } from '../../messages/exported-layers.ts';
import { decodePng } from '../../png/png-decode.ts';
import type { Raster } from '../../png/raster.ts';
import { mapFromDrawnLayer } from '../images/layer-maps.ts';
import { placeInFrame } from '../images/place-in-frame.ts';

export type DecodeImage = (png: Uint8Array) => Promise<Raster>;

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

/** Decodes every exported layer and puts it at its true offset in the source's frame. */
export async function composeLayers(layers: ExportedLayers, decode: DecodeImage = decodePng): Promise<ComposedLayers> {
  const { width, height } = layers.frame;
  const place = async (layer: ExportedLayer) => {
    const raster = await decode(layer.png);
    if (raster.width !== layer.placement.width || raster.height !== layer.placement.height) {
      throw new Error(
        `The export of "${layer.name}" decoded to ${raster.width}x${raster.height} but its header said ${layer.placement.width}x${layer.placement.height}; export it again.`,
      );
    }
    return placeInFrame(raster, layer.placement.x, layer.placement.y, width, height);
  };
  const source = await place(layers.source);
  const exemplars = await Promise.all(layers.exemplars.map(place));
  const drawnMap = layers.map ? mapFromDrawnLayer(await place(layers.map)) : undefined;
  return { width, height, source, exemplars, ...(drawnMap ? { drawnMap } : {}) };
}
