import { Provenance } from '../messages/job-records.ts';
import type { SurfaceNode } from './figma-surface.ts';

export const PROVENANCE_KEY = 'pixels.provenance';

export function writeProvenance(node: SurfaceNode, provenance: Provenance): void {
  node.setPluginData(PROVENANCE_KEY, JSON.stringify(provenance));
}

/** How a result layer was made, or undefined for any other layer. */
export function readProvenance(node: SurfaceNode): Provenance | undefined {
  const raw = node.getPluginData(PROVENANCE_KEY);
  if (!raw) return undefined;
  try {
    const parsed = Provenance.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}
