import type { ExportedLayers } from '../../messages/exported-layers.ts';
import { encodePng } from '../../png/png-encode.ts';
import type { EditUpload } from '../api/pixels-client.ts';
import { grayRasterOf, mapFromDrawnLayer } from '../images/layer-maps.ts';
import { type DecodeImage, fillsFrame, placeExportedLayer } from './compose-layers.ts';
import { editMapFor, type MapShaping } from './edit-map.ts';

export interface PreparedUpload {
  upload: EditUpload & { map: Uint8Array };
  mapOrigin: 'drawn' | 'shape';
  width: number;
  height: number;
}

/**
 * The files of one edit, every one the size of the source's frame: the source (Figma's own PNG
 * when it is exactly the frame, which it is unless shadows or strokes reach outside), each
 * exemplar at its offset, and the edit map (drawn, or built from the exemplars' shape).
 */
export async function prepareUpload(
  layers: ExportedLayers,
  shaping: MapShaping,
  decode: DecodeImage,
): Promise<PreparedUpload> {
  const { frame } = layers;
  const exemplars = await Promise.all(layers.exemplars.map((layer) => placeExportedLayer(layer, frame, decode)));
  const drawnMap = layers.map ? mapFromDrawnLayer(await placeExportedLayer(layers.map, frame, decode)) : undefined;
  const editMap = editMapFor({ exemplars, ...(drawnMap ? { drawnMap } : {}) }, shaping);
  const [source, map, ...exemplarPngs] = await Promise.all([
    fillsFrame(layers.source, frame)
      ? layers.source.png
      : placeExportedLayer(layers.source, frame, decode).then((raster) => encodePng(raster)),
    encodePng(grayRasterOf(editMap.map)),
    ...exemplars.map((raster) => encodePng(raster)),
  ]);
  return {
    upload: { source, exemplars: exemplarPngs, map },
    mapOrigin: editMap.origin,
    width: frame.width,
    height: frame.height,
  };
}
