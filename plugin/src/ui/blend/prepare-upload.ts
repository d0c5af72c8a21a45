import type { ExportedLayers } from '../../messages/exported-layers.ts';
import { encodePng } from '../../png/png-encode.ts';
import type { EditUpload } from '../api/pixels-client.ts';
import { grayRasterOf, mapFromDrawnLayer } from '../images/layer-maps.ts';
import { type DecodeImage, fillsFrame, placeExportedLayer } from './compose-layers.ts';
import { editMapFor, type MapShaping } from './edit-map.ts';

/**
 * The server builds the map from the exemplars' shape itself (shared `shapeToMap`, grow and feather
 * from the settings) with this falloff, so with it the plugin need not build and upload one.
 */
export const SERVER_FALLOFF = 'smooth';

export interface PreparedUpload {
  upload: EditUpload;
  /** `drawn`: a map layer; `shape`: built from the exemplars, here or (with no map sent) on the server. */
  mapOrigin: 'drawn' | 'shape';
  width: number;
  height: number;
}

/**
 * The files of one edit, every one the size of the source's frame: the source (Figma's own PNG
 * when it is exactly the frame, which it is unless shadows or strokes reach outside), each
 * exemplar at its offset, and the edit map when the server cannot build the same one itself (a
 * drawn map, or a falloff other than the server's).
 */
export async function prepareUpload(
  layers: ExportedLayers,
  shaping: MapShaping,
  decode: DecodeImage,
): Promise<PreparedUpload> {
  const { frame } = layers;
  const exemplars = await Promise.all(layers.exemplars.map((layer) => placeExportedLayer(layer, frame, decode)));
  const drawnMap = layers.map ? mapFromDrawnLayer(await placeExportedLayer(layers.map, frame, decode)) : undefined;
  const mapNeeded = drawnMap !== undefined || shaping.falloff !== SERVER_FALLOFF;
  const editMap = mapNeeded ? editMapFor({ exemplars, ...(drawnMap ? { drawnMap } : {}) }, shaping) : undefined;
  const [source, map, ...exemplarPngs] = await Promise.all([
    fillsFrame(layers.source, frame)
      ? layers.source.png
      : placeExportedLayer(layers.source, frame, decode).then((raster) => encodePng(raster)),
    editMap ? encodePng(grayRasterOf(editMap.map)) : undefined,
    ...exemplars.map((raster) => encodePng(raster)),
  ]);
  return {
    upload: { source: source!, exemplars: exemplarPngs as Uint8Array[], ...(map ? { map } : {}) },
    mapOrigin: drawnMap ? 'drawn' : 'shape',
    width: frame.width,
    height: frame.height,
  };
}
