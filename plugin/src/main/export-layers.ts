import { readPngSize } from '@pixels/shared';
import { intersectBoxes } from '../common/box.ts';
import { type EditReach, planExport } from '../common/export-sizing.ts';
import type { ExportedLayer, ExportedLayers } from '../messages/exported-layers.ts';
import { FIGMA_MAX_IMAGE_SIDE } from '../png/figma-image-limit.ts';
import type { Box, PngExportSettings, SurfaceNode } from './figma-surface.ts';
import { placeExport } from './geometry.ts';

/** The selected nodes by role, exemplars bottom first. */
export interface RoleNodes {
  source: SurfaceNode;
  exemplars: readonly SurfaceNode[];
  map?: SurfaceNode;
}

/** How the edit spreads, from the panel's settings: absent for a whole-frame export (previews). */
export interface EditSpread {
  /** Working pixels the map reaches beyond the exemplars' shape (grow + feather). */
  spreadPx: number;
  /** A drawn map whose white means "keep": it changes everything its layer does not cover. */
  invertMap: boolean;
}

/** What the edit reaches, from the layers' boxes: the exemplars with their effects, a drawn map's layer. */
export function reachOf(nodes: RoleNodes, spread: EditSpread): EditReach {
  const boxesOf = (node: SurfaceNode) =>
    [node.absoluteBoundingBox, node.absoluteRenderBounds].filter((box): box is Box => Boolean(box));
  return {
    boxes: [...nodes.exemplars.flatMap(boxesOf), ...(nodes.map ? boxesOf(nodes.map) : [])],
    spreadPx: nodes.map ? 0 : spread.spreadPx,
    everywhere: Boolean(nodes.map) && spread.invertMap,
  };
}

/**
 * Rasterizes the source, the exemplars and the map at one scale, in the source's frame: at 1x
 * unless the working-size cap (the longest side sent) or Figma's image limit asks for less. With
 * `spread`, the scale is chosen for the region around the edit, which is all the panel sends.
 * Figma exports whole nodes only, so the source is exported whole and the panel crops it.
 * Exemplars and the map are hidden while the source is exported (a frame's export would include
 * them when they are its children) and shown again afterwards, even when the export fails.
 */
export async function exportLayers(nodes: RoleNodes, maxSide: number, spread?: EditSpread): Promise<ExportedLayers> {
  const frameBox = nodes.source.absoluteBoundingBox;
  if (!frameBox) throw new Error(`The source "${nodes.source.name}" renders nothing, so it cannot be exported.`);
  const working = planExport(frameBox, spread ? reachOf(nodes, spread) : null, maxSide);
  const settings: PngExportSettings = {
    format: 'PNG',
    constraint: { type: 'SCALE', value: working.scale },
    useAbsoluteBounds: true,
  };
  const overlays = [...nodes.exemplars, ...(nodes.map ? [nodes.map] : [])];
  const sourcePng = await withLayersHidden(overlapping(overlays, frameBox), () => exportNode(nodes.source, settings));

  const notes: string[] = [];
  if (working.capped) {
    // The panel may crop the region further (to what the map really touches), so its size is not told here.
    const sent = working.region
      ? 'the region around the edit'
      : `the whole source, ${working.width}×${working.height} px`;
    const limit =
      Math.max(working.window.width, working.window.height) >= maxSide
        ? `the working size of ${maxSide} px`
        : `Figma's ${FIGMA_MAX_IMAGE_SIDE} px export limit for the ${working.fullWidth}×${working.fullHeight} source`;
    notes.push(
      `Sends ${sent}, scaled by ${formatScale(working.scale)} to fit ${limit}; the result is placed scaled up ` +
        `${formatScale(1 / working.scale)} over it. Raise "Working size" for full resolution.`,
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
      window: working.window,
      region: working.region,
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
