import type { ExportedLayer, ExportedLayers } from '../../../plugin/src/messages/exported-layers.ts';
import type { Raster } from '../../../plugin/src/png/raster.ts';
import { pngOf } from './test-images.ts';

export interface LayerSpec {
  id?: string;
  name?: string;
  raster: Raster;
  x?: number;
  y?: number;
}

async function exported(spec: LayerSpec, fallbackId: string): Promise<ExportedLayer> {
  return {
    id: spec.id ?? fallbackId,
    name: spec.name ?? fallbackId,
    png: await pngOf(spec.raster),
    placement: {
      x: spec.x ?? 0,
      y: spec.y ?? 0,
      width: spec.raster.width,
      height: spec.raster.height,
      matched: 'bounds',
    },
  };
}

/** What the main thread would send for a selection, built from rasters (scale 1, no cap). */
export async function exportedLayers(spec: {
  source: LayerSpec;
  exemplars: LayerSpec[];
  map?: LayerSpec;
  notes?: string[];
}): Promise<ExportedLayers> {
  const { width, height } = spec.source.raster;
  return {
    frame: {
      width,
      height,
      scale: 1,
      fullWidth: width,
      fullHeight: height,
      capped: false,
      window: { x: 0, y: 0, width, height },
      region: false,
    },
    source: await exported(spec.source, 'source'),
    exemplars: await Promise.all(spec.exemplars.map((exemplar, index) => exported(exemplar, `exemplar-${index}`))),
    ...(spec.map ? { map: await exported(spec.map, 'map') } : {}),
    notes: spec.notes ?? [],
  };
}
