import { LAYER_ROLES, type LayerRole } from '../messages/selection-summary.ts';
import type { SurfaceNode } from './figma-surface.ts';

/**
 * What the plugin remembers on the layers themselves (plugin data travels with the file, so a role
 * chosen once is still there for the next blend and for teammates).
 */
const ROLE_KEY = 'pixels.role';
const ORDER_KEY = 'pixels.exemplarOrder';

export function readChosenRole(node: SurfaceNode): LayerRole | undefined {
  const value = node.getPluginData(ROLE_KEY);
  return (LAYER_ROLES as readonly string[]).includes(value) ? (value as LayerRole) : undefined;
}

/** Remembers a role on the node; `automatic` forgets it so the plugin decides again. */
export function writeChosenRole(node: SurfaceNode, role: LayerRole | 'automatic'): void {
  node.setPluginData(ROLE_KEY, role === 'automatic' ? '' : role);
  if (role !== 'exemplar') node.setPluginData(ORDER_KEY, '');
}

export function readChosenOrder(node: SurfaceNode): number | undefined {
  const value = node.getPluginData(ORDER_KEY);
  if (value === '') return undefined;
  const order = Number(value);
  return Number.isInteger(order) && order >= 0 ? order : undefined;
}

export function writeChosenOrder(node: SurfaceNode, order: number): void {
  node.setPluginData(ORDER_KEY, String(order));
}
