import { readPngSize } from '@pixels/shared';
import type { PlaceResultMessage } from '../messages/ui-to-main.ts';
import { FIGMA_MAX_IMAGE_SIDE } from '../png/figma-image-limit.ts';
import {
  type FigmaSurface,
  type ImageFill,
  isSurfaceNode,
  type SurfaceParent,
  type SurfaceRectangle,
} from './figma-surface.ts';
import { writeProvenance } from './provenance.ts';
import { RESULT_RELAUNCH_DATA } from './relaunch-commands.ts';
import { nameResult } from './result-name.ts';

export interface PlacedResult {
  node: SurfaceRectangle;
  name: string;
}

function isAutoLayout(parent: SurfaceParent): boolean {
  return typeof parent.layoutMode === 'string' && parent.layoutMode !== 'NONE';
}

/**
 * Places a result as a new image layer exactly over its source (or over the region of it that was
 * sent, 1:1 when it was sent at 1x): same parent, directly above it, same size and position (taken out of auto-layout flow so it does not push its siblings). The
 * placement is one undo step of its own.
 */
export async function placeResult(api: FigmaSurface, message: PlaceResultMessage): Promise<PlacedResult> {
  const size = readPngSize(message.png);
  if (size.width > FIGMA_MAX_IMAGE_SIDE || size.height > FIGMA_MAX_IMAGE_SIDE) {
    throw new Error(
      `The result is ${size.width}×${size.height} px; Figma images can be at most ${FIGMA_MAX_IMAGE_SIDE} px per side. Lower the working size and blend again.`,
    );
  }
  const source = await api.getNodeByIdAsync(message.sourceId);
  if (!isSurfaceNode(source) || source.removed) {
    throw new Error(
      'The source layer of this result no longer exists (deleted, or on a page that is not open). Select the layers and blend again.',
    );
  }
  const parent = source.parent;
  if (!parent) throw new Error(`The source "${source.name}" has no parent layer to place the result in.`);
  if (parent.type === 'INSTANCE' || parent.type === 'BOOLEAN_OPERATION') {
    throw new Error(
      `The source "${source.name}" sits inside a ${parent.type === 'INSTANCE' ? 'component instance' : 'boolean group'}, where no layer can be added. Select a frame outside it as the source.`,
    );
  }

  const name = nameResult(message.settings, message.seed, message.promptUsed);
  // Seal whatever the plugin changed before, so that one undo removes exactly this placement.
  api.commitUndo();
  const image = api.createImage(message.png);
  const rectangle = api.createRectangle();
  rectangle.name = name;
  const index = parent.children.findIndex((child) => child.id === source.id);
  parent.insertChild(index + 1, rectangle);
  if (isAutoLayout(parent)) rectangle.layoutPositioning = 'ABSOLUTE';
  // A region's result goes over that region (its box, in the source's own axes), else over the whole source.
  const box = message.box;
  const left = box ? Math.min(box.x, source.width) : 0;
  const top = box ? Math.min(box.y, source.height) : 0;
  const width = box ? Math.max(0.01, Math.min(box.width, source.width - left)) : source.width;
  const height = box ? Math.max(0.01, Math.min(box.height, source.height - top)) : source.height;
  rectangle.resize(width, height);
  const [[a, b, x], [c, d, y]] = source.relativeTransform;
  rectangle.relativeTransform = [
    [a, b, x + a * left + b * top],
    [c, d, y + c * left + d * top],
  ];
  const fill: ImageFill = { type: 'IMAGE', imageHash: image.hash, scaleMode: 'FILL' };
  rectangle.fills = [fill];
  writeProvenance(rectangle, {
    plugin: 'pixels',
    jobId: message.jobId,
    serverUrl: message.serverUrl,
    settings: { ...message.settings, seed: message.seed },
    seed: message.seed,
    sourceId: message.sourceId,
    exemplarIds: message.exemplarIds,
    ...(message.mapId ? { mapId: message.mapId } : {}),
    width: size.width,
    height: size.height,
    ...(box ? { box } : {}),
    placedAt: new Date().toISOString(),
    ...(message.batchId ? { batchId: message.batchId } : {}),
    ...(message.variation !== undefined ? { variation: message.variation } : {}),
    ...(message.runMs !== undefined ? { runMs: message.runMs } : {}),
    ...(message.runSteps !== undefined ? { runSteps: message.runSteps } : {}),
  });
  rectangle.setRelaunchData({ ...RESULT_RELAUNCH_DATA });
  api.commitUndo();
  return { node: rectangle, name };
}
