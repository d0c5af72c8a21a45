import type { SurfaceNode } from './figma-surface.ts';
import { orientationOf } from './geometry.ts';
import type { LayerFacts } from './layer-facts.ts';
import { readChosenOrder, readChosenRole } from './node-memory.ts';

const FRAME_LIKE_TYPES = new Set(['FRAME', 'COMPONENT', 'COMPONENT_SET', 'INSTANCE', 'SECTION']);

function hasImageFill(node: SurfaceNode): boolean {
  const fills = node.fills;
  return (
    Array.isArray(fills) &&
    fills.some((paint: { type: string; visible?: boolean }) => paint.type === 'IMAGE' && paint.visible !== false)
  );
}

/** Reads the facts role assignment needs from one selected node (walks up to the page once). */
export function describeLayer(node: SurfaceNode): LayerFacts {
  const paintPath: number[] = [];
  const ancestorIds: string[] = [];
  let child: { id: string } = node;
  let parent = node.parent;
  while (parent) {
    paintPath.unshift(parent.children.findIndex((sibling) => sibling.id === child.id));
    if (parent.type === 'PAGE' || parent.type === 'DOCUMENT') break;
    ancestorIds.push(parent.id);
    child = parent;
    parent = parent.parent;
  }
  const chosenRole = readChosenRole(node);
  const chosenOrder = readChosenOrder(node);
  return {
    id: node.id,
    name: node.name,
    type: node.type,
    visible: node.visible,
    bounds: node.absoluteBoundingBox,
    orientation: orientationOf(node.absoluteTransform),
    isFrameLike: FRAME_LIKE_TYPES.has(node.type),
    isImage: hasImageFill(node),
    paintPath,
    ancestorIds,
    ...(chosenRole ? { chosenRole } : {}),
    ...(chosenOrder !== undefined ? { chosenOrder } : {}),
  };
}
