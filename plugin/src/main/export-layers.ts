import type { ExportedLayer, ExportedLayers } from '../messages/exported-layers.ts';
import { readPngSize } from '../png/png-header.ts';
import type { Box, PngExportSettings, SurfaceNode } from './figma-surface.ts';
import { intersectBoxes, placeExport, workingSizeFor } from './geometry.ts';

/** The selected nodes by role, exemplars bottom first. */
export interface RoleNodes {
  source: SurfaceNode;
  exemplars: readonly SurfaceNode[];
  map?: SurfaceNode;
}

/**
 * Rasterizes the source, the exemplars and the map at one scale, in the source's frame. Exemplars
 * and the map are hidden while the source is exported (a frame's export would include them when
 * they are its children) and shown again afterwards, even when the export fails.
 */
export async function exportLayers(nodes: RoleNodes, maxSide: number): Promise<ExportedLayers> {
  const frameBox = nodes.source.absoluteBoundingBox;
  if (!frameBox) throw new Error(`The source "${nodes.source.name}" renders nothing, so it cannot be exported.`);
  const working = workingSizeFor(frameBox, maxSide);
  const settings: PngExportSettings = {
    format: 'PNG',
    constraint: { type: 'SCALE', value: working.scale },
    useAbsoluteBounds: true,
  };
  const overlays = [...nodes.exemplars, ...(nodes.map ? [nodes.map] : [])];
  const sourcePng = await withLayersHidden(overlapping(overlays, frameBox), () => exportNode(nodes.source, settings));

  const notes: string[] = [];
  if (working.capped) {
    notes.push(
      `Working at ${working.width}×${working.height} px: the source is ${working.fullWidth}×${working.fullHeight} at 1x, ` +
        `scaled by ${formatScale(working.scale)} to fit the working size of ${maxSide} px. Raise "Working size" for more detail.`,
    );
  }
  const locate = (node: SurfaceNode, png: Uint8Array): ExportedLayer => {
    const placement = placeExport(
      readPngSize(png),
      { bounds: node.absoluteBoundingBox ?? frameBox, renderBounds: node.absoluteRenderBounds ?? null },
      frameBox,
      working.scale,
    );
    if (placement.matched === 'centered') {
      notes.push(
        `Figma exported "${node.name}" at a size that matches neither its bounds nor its effects; it was centred on its bounds.`,
      );
    }
    return { id: node.id, name: node.name, png, placement };
  };

  const source = locate(nodes.source, sourcePng);
  const exemplars: ExportedLayer[] = [];
  for (const node of nodes.exemplars) exemplars.push(locate(node, await exportNode(node, settings)));
  const map = nodes.map ? locate(nodes.map, await exportNode(nodes.map, settings)) : undefined;
  return {
    frame: {
      width: working.width,
      height: working.height,
      scale: working.scale,
      fullWidth: working.fullWidth,
      fullHeight: working.fullHeight,
      capped: working.capped,
    },
    source,
    exemplars,
    ...(map ? { map } : {}),
    notes,
  };
}

function overlapping(nodes: readonly SurfaceNode[], frameBox: Box): SurfaceNode[] {
  return nodes.filter(
    (node) => node.visible && node.absoluteBoundingBox && intersectBoxes(node.absoluteBoundingBox, frameBox),
  );
}

/** Runs `work` with `nodes` hidden, then shows them again whatever happens. */
export async function withLayersHidden<T>(nodes: readonly SurfaceNode[], work: () => Promise<T>): Promise<T> {
  const hidden: SurfaceNode[] = [];
  try {
    for (const node of nodes) {
      node.visible = false;
      hidden.push(node);
    }
    return await work();
  } finally {
    for (const node of hidden) if (!node.removed) node.visible = true;
  }
}

async function exportNode(node: SurfaceNode, settings: PngExportSettings): Promise<Uint8Array> {
  try {
    return await node.exportAsync(settings);
  } catch (error) {
    throw new Error(
      `Figma could not export "${node.name}" (${(error as Error).message}). Try a smaller working size, or simplify the layer.`,
    );
  }
}

function formatScale(scale: number): string {
  return `${Math.round(scale * 1000) / 1000}×`;
}
