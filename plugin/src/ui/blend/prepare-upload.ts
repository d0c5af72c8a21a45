import { type GrayMap, readPngSize } from '@pixels/shared';
import { editRegionOf, type PixelRect, shapeMapReach } from '../../common/export-sizing.ts';
import type { ComposeParts } from '../../messages/blend-timings.ts';
import type { ExportedLayer, ExportedLayers } from '../../messages/exported-layers.ts';
import type { PlacementBox } from '../../messages/job-records.ts';
import type { ExpectedAlpha } from '../../png/expected-alpha.ts';
import { encodePng } from '../../png/png-encode.ts';
import type { Raster } from '../../png/raster.ts';
import type { EditUpload } from '../api/pixels-client.ts';
import { alphaOf, grayRasterOf, mapFromDrawnLayer } from '../images/layer-maps.ts';
import { placeInFrame } from '../images/place-in-frame.ts';
import type { DecodeImage } from './compose-layers.ts';
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
  /** The size of every image sent (and of the result expected back). */
  width: number;
  height: number;
  /** What was sent, in working pixels of the frame: the region around the edit, or the whole frame. */
  sent: PixelRect;
  /** Where the result goes over the source in canvas units, when only a region was sent. */
  box?: PlacementBox;
  /** Milliseconds spent decoding the exports, laying out the files (map, region, crops) and encoding them. */
  parts: ComposeParts;
}

/** Decodes one exported layer and puts it at its true offset in `rect` of the working frame. */
async function placeIn(
  layer: ExportedLayer,
  rect: PixelRect,
  decode: DecodeImage,
  expect: ExpectedAlpha,
): Promise<Raster> {
  const { placement } = layer;
  const header = readPngSize(layer.png);
  if (header.width !== placement.width || header.height !== placement.height) {
    throw new Error(
      `The export of "${layer.name}" decoded to ${header.width}x${header.height} but its header said ${placement.width}x${placement.height}; export it again.`,
    );
  }
  const left = Math.round(placement.x - rect.x);
  const top = Math.round(placement.y - rect.y);
  // The part of the layer inside `rect`: only it is decoded (a large source cropped to a small edit).
  const fromX = Math.max(0, -left);
  const fromY = Math.max(0, -top);
  const toX = Math.min(placement.width, rect.width - left);
  const toY = Math.min(placement.height, rect.height - top);
  const part = toX > fromX && toY > fromY ? { x: fromX, y: fromY, width: toX - fromX, height: toY - fromY } : null;
  const raster = await decode(layer.png, part ?? undefined, expect);
  const expected = part ?? placement;
  if (raster.width !== expected.width || raster.height !== expected.height) {
    throw new Error(
      `The export of "${layer.name}" decoded to ${raster.width}x${raster.height} but its header said ${placement.width}x${placement.height}; export it again.`,
    );
  }
  if (!part) return placeInFrame(raster, left, top, rect.width, rect.height);
  // The part fills the whole rect: it is the frame already.
  if (left + fromX === 0 && top + fromY === 0 && part.width === rect.width && part.height === rect.height)
    return raster;
  return placeInFrame(raster, left + fromX, top + fromY, rect.width, rect.height);
}

function cropRaster(raster: Raster, rect: PixelRect): Raster {
  return placeInFrame(raster, -rect.x, -rect.y, rect.width, rect.height);
}

function cropMap(map: GrayMap, rect: PixelRect): GrayMap {
  const data = new Float32Array(rect.width * rect.height);
  for (let row = 0; row < rect.height; row++) {
    const from = (row + rect.y) * map.width + rect.x;
    data.set(map.data.subarray(from, from + rect.width), row * rect.width);
  }
  return { data, width: rect.width, height: rect.height };
}

/** Whether an exported layer is exactly `rect` of the working frame (no shadow to crop, no offset). */
function isExactly(layer: ExportedLayer, rect: PixelRect): boolean {
  const { x, y, width, height } = layer.placement;
  return Math.round(x) === rect.x && Math.round(y) === rect.y && width === rect.width && height === rect.height;
}

/**
 * A region the edit touches with fewer than this share of the window's pixels is cropped out of a
 * source exported as the window: below it, the smaller upload, server decode, result and
 * placement save more than the crop's decode and encode here cost.
 */
const CROP_BELOW_SHARE = 0.5;

/**
 * The files of one edit, every one the size of what is sent: the region around the edit (every
 * pixel the map changes or an exemplar covers, padded by a margin) when the main thread exported
 * for one, else the whole frame. The source is Figma's own PNG, not decoded here, when it is
 * exactly what is sent: the whole frame, or the window the main thread exported through a slice
 * (then sent whole unless the edit touches much less of it). Each exemplar sits at its offset;
 * the edit map goes along when the server cannot build the same one itself (a drawn map, or a
 * falloff other than the server's). The map the server builds from a cropped exemplar is the
 * same as the whole frame's, cropped: the crop holds the whole shape and the map's spread.
 */
export async function prepareUpload(
  layers: ExportedLayers,
  shaping: MapShaping,
  decode: DecodeImage,
  now: () => number = () => performance.now(),
): Promise<PreparedUpload> {
  const { frame } = layers;
  const window = frame.window;
  const decodeStart = now();
  const sourceIsWindow = isExactly(layers.source, window);
  // The source, the largest image, is decoded (natively, off the main thread where the browser
  // can) while the exemplars are, unless it may go as exported; it is cropped once the region is known.
  const windowSource = sourceIsWindow ? undefined : placeIn(layers.source, window, decode, 'opaque');
  windowSource?.catch(() => undefined);
  const windowExemplars = await Promise.all(
    layers.exemplars.map((layer) => placeIn(layer, window, decode, 'transparent')),
  );
  const drawnMap = layers.map ? mapFromDrawnLayer(await placeIn(layers.map, window, decode, 'transparent')) : undefined;
  const layoutStart = now();
  const mapNeeded = drawnMap !== undefined || shaping.falloff !== SERVER_FALLOFF;
  // Built only when it is sent: its distance transform is the costly part of preparing an edit.
  const windowMap = mapNeeded
    ? editMapFor({ exemplars: windowExemplars, ...(drawnMap ? { drawnMap } : {}) }, shaping).map
    : undefined;

  // Inside the window, the region the edit really touches (the window was sized from layer boxes).
  const touched = frame.region
    ? editRegionOf(
        [...(windowMap ? [windowMap] : []), ...windowExemplars.map(alphaOf)],
        window.width,
        window.height,
        windowMap ? 0 : shapeMapReach(shaping.grow, shaping.feather),
      )
    : null;
  const keepWindow =
    !touched || (sourceIsWindow && touched.width * touched.height >= CROP_BELOW_SHARE * window.width * window.height);
  const inWindow = keepWindow ? { x: 0, y: 0, width: window.width, height: window.height } : touched;
  const sent: PixelRect = { ...inWindow, x: window.x + inWindow.x, y: window.y + inWindow.y };
  const whole = sent.x === 0 && sent.y === 0 && sent.width === frame.width && sent.height === frame.height;
  const same = inWindow.width === window.width && inWindow.height === window.height;
  const exemplars = same ? windowExemplars : windowExemplars.map((raster) => cropRaster(raster, inWindow));
  const map = mapNeeded && windowMap ? (same ? windowMap : cropMap(windowMap, inWindow)) : undefined;

  const sourceStart = now();
  const sourceRaster =
    same && sourceIsWindow
      ? undefined
      : await (windowSource ?? placeIn(layers.source, window, decode, 'opaque')).then((raster) =>
          same ? raster : cropRaster(raster, inWindow),
        );
  const encodeStart = now();
  const [source, mapPng, ...exemplarPngs] = await Promise.all([
    sourceRaster ? encodePng(sourceRaster) : layers.source.png,
    map ? encodePng(grayRasterOf(map)) : undefined,
    ...exemplars.map((raster) => encodePng(raster)),
  ]);
  const done = now();
  const upload: EditUpload = {
    source: source!,
    exemplars: exemplarPngs as Uint8Array[],
    ...(mapPng ? { map: mapPng } : {}),
  };
  return {
    upload,
    mapOrigin: drawnMap ? 'drawn' : 'shape',
    parts: {
      decodeMs: layoutStart - decodeStart + (encodeStart - sourceStart),
      layoutMs: sourceStart - layoutStart,
      encodeMs: done - encodeStart,
    },
    width: sent.width,
    height: sent.height,
    sent,
    ...(whole
      ? {}
      : {
          box: {
            x: sent.x / frame.scale,
            y: sent.y / frame.scale,
            width: sent.width / frame.scale,
            height: sent.height / frame.scale,
          },
        }),
  };
}
