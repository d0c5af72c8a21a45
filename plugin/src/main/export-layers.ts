import { readPngSize } from '@pixels/shared';
import { containsBox, intersectBoxes } from '../common/box.ts';
import { type EditReach, type PixelRect, planExport } from '../common/export-sizing.ts';
import type { ExportedLayer, ExportedLayers } from '../messages/exported-layers.ts';
import { FIGMA_MAX_IMAGE_SIDE } from '../png/figma-image-limit.ts';
import type {
  Box,
  FigmaSurface,
  PngExportSettings,
  SurfaceLayerStyle,
  SurfaceNode,
  SurfaceParent,
} from './figma-surface.ts';
import { placeExport } from './geometry.ts';
import { readProvenance } from './provenance.ts';

/** The selected nodes by role, exemplars bottom first. */
export interface RoleNodes {
  source: SurfaceNode;
  exemplars: readonly SurfaceNode[];
  map?: SurfaceNode;
}

/** How the edit spreads, from the panel's settings: absent for a whole-frame export (previews). */
export interface EditSpread {
  /** Working pixels the map reaches beyond the exemplars' shape (`shapeMapReach`). */
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
 * unless the working-size cap (the longest side sent) or Figma's image limit (on the region when
 * only the region is exported, else on the whole source) asks for less. With
 * `spread`, the scale is chosen for the region around the edit, which is all the panel sends, and
 * only that region of the source is exported, through a slice over it, when nothing but the
 * source shows there (see `onlySourceShows`); otherwise the source is exported whole and the
 * panel crops it. Exemplars and the map are hidden while the source is exported (a frame's export
 * would include them when they are its children), and so are the results placed over the source
 * before (a slice would see them), and shown again afterwards, even when the export fails.
 */
export async function exportLayers(
  api: Pick<FigmaSurface, 'createSlice'>,
  nodes: RoleNodes,
  maxSide: number,
  spread?: EditSpread,
): Promise<ExportedLayers> {
  const frameBox = nodes.source.absoluteBoundingBox;
  if (!frameBox) throw new Error(`The source "${nodes.source.name}" renders nothing, so it cannot be exported.`);
  const reach = spread ? reachOf(nodes, spread) : null;
  const overlays = [...nodes.exemplars, ...(nodes.map ? [nodes.map] : [])];
  const results = reach ? resultsOver(nodes.source) : [];
  const hiddenIds = new Set([...overlays, ...results].map((node) => node.id));
  // A slice exports the window alone, so Figma's limit is on the window; the whole source's
  // export is limited as a whole (a source beyond 4096 px is then sent below 1x).
  let working = planExport(frameBox, reach, maxSide, 'window');
  let region: Box | null = working.region ? canvasBoxOf(working.window, frameBox, working.scale) : null;
  if (!region || !onlySourceShows(nodes.source, region, hiddenIds)) {
    working = planExport(frameBox, reach, maxSide, 'source');
    region = null;
  }
  const settings: PngExportSettings = {
    format: 'PNG',
    constraint: { type: 'SCALE', value: working.scale },
    useAbsoluteBounds: true,
  };
  const sliceArea = region;
  const sourceExport = await withLayersHidden(overlapping([...overlays, ...results], frameBox), async () =>
    sliceArea
      ? { png: await exportSlice(api, nodes.source, sliceArea, settings), sliced: true }
      : { png: await exportNode(nodes.source, settings), sliced: false },
  );

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

  // A slice's PNG is the window itself: it lies at the window's corner.
  const source: ExportedLayer = sourceExport.sliced
    ? {
        id: nodes.source.id,
        name: nodes.source.name,
        png: sourceExport.png,
        placement: { x: working.window.x, y: working.window.y, ...readPngSize(sourceExport.png), matched: 'bounds' },
      }
    : locate(nodes.source, sourceExport.png);
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

/** A rectangle of working pixels of the source's frame, in canvas units. */
function canvasBoxOf(rect: PixelRect, frameBox: Box, scale: number): Box {
  return {
    x: frameBox.x + rect.x / scale,
    y: frameBox.y + rect.y / scale,
    width: rect.width / scale,
    height: rect.height / scale,
  };
}

/** Results this plugin placed over the source before: its siblings that name it as their source. */
function resultsOver(source: SurfaceNode): SurfaceNode[] {
  return (source.parent?.children ?? []).filter(
    (node) => node !== source && readProvenance(node)?.sourceId === source.id,
  );
}

function drawsAnything(styles: readonly SurfaceLayerStyle[] | symbol | undefined): boolean {
  return typeof styles === 'symbol' || (styles ?? []).some((style) => style.visible !== false);
}

/**
 * Whether a slice over `area` exports what the source's own export shows there: every layer that
 * paints in it is the source or inside it. A slice exports all that is visible in its bounds, so
 * any other visible layer overlapping the area (at any level up to the page) rules it out, and so
 * does an ancestor that paints itself (its fill would show through the source's transparent
 * pixels) or does not contain the area (it would clip the source). Slices paint nothing, and
 * `hiddenIds` are layers hidden while the source is exported.
 */
export function onlySourceShows(source: SurfaceNode, area: Box, hiddenIds: ReadonlySet<string> = new Set()): boolean {
  let inner: { id: string } = source;
  for (let parent: SurfaceParent | null = source.parent; parent; inner = parent, parent = parent.parent) {
    for (const node of parent.children) {
      if (node.id === inner.id || !node.visible || node.type === 'SLICE' || hiddenIds.has(node.id)) continue;
      const drawn = node.absoluteRenderBounds === undefined ? node.absoluteBoundingBox : node.absoluteRenderBounds;
      if (drawn && intersectBoxes(drawn, area)) return false;
    }
    if (parent.type === 'PAGE') return true;
    const box = parent.absoluteBoundingBox;
    if (!box || !containsBox(box, area)) return false;
    if (drawsAnything(parent.fills) || drawsAnything(parent.strokes) || drawsAnything(parent.effects)) return false;
  }
  return false;
}

/** Exports `area` of the canvas through a slice made for it, removed again whatever happens. */
async function exportSlice(
  api: Pick<FigmaSurface, 'createSlice'>,
  source: SurfaceNode,
  area: Box,
  settings: PngExportSettings,
): Promise<Uint8Array> {
  const slice = api.createSlice();
  try {
    slice.name = `PIXELS export of "${source.name}"`;
    slice.x = area.x;
    slice.y = area.y;
    slice.resize(area.width, area.height);
    return await slice.exportAsync(settings);
  } catch (error) {
    throw new Error(
      `Figma could not export the edit's region of "${source.name}" (${(error as Error).message}). Try a smaller working size, or simplify the layer.`,
    );
  } finally {
    slice.remove();
  }
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
