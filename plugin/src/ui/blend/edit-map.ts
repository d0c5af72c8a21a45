import { type FalloffCurve, type GrayMap, invertMap, shapeToMap, unionMaps } from '@pixels/shared';
import { alphaOf } from '../images/layer-maps.ts';
import type { ComposedLayers } from './compose-layers.ts';

export interface MapShaping {
  /** Working-image pixels the exemplars' shape grows by. */
  grow: number;
  /** Working-image pixels of soft edge beyond that. */
  feather: number;
  falloff: FalloffCurve;
  /** Flip a drawn map whose white means "keep" (the official scripts' habit). */
  invert: boolean;
}

export interface EditMap {
  /** White = change fully, black = keep the source: the user polarity the server expects. */
  map: GrayMap;
  /** Whether it came from a drawn map layer or from the exemplars' shape. */
  origin: 'drawn' | 'shape';
}

/**
 * The edit map to send and preview. A drawn map layer is used as drawn (inverted when asked);
 * without one, the map is the union of the exemplars' shapes, grown and feathered.
 * `pixelScale` converts working pixels to this frame's pixels (a preview frame is smaller).
 */
export function editMapFor(
  layers: Pick<ComposedLayers, 'exemplars' | 'drawnMap'>,
  shaping: MapShaping,
  pixelScale = 1,
): EditMap {
  if (layers.drawnMap) {
    return { map: shaping.invert ? invertMap(layers.drawnMap) : layers.drawnMap, origin: 'drawn' };
  }
  const shape = unionMaps(layers.exemplars.map(alphaOf));
  return {
    map: shapeToMap(shape, {
      grow: shaping.grow * pixelScale,
      feather: shaping.feather * pixelScale,
      falloff: shaping.falloff,
    }),
    origin: 'shape',
  };
}
