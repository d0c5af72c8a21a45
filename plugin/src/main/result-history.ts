import { HISTORY_THUMBNAIL_SIDE, type HistoryEntry } from '../messages/history-entry.ts';
import type { FigmaSurface, SurfaceNode, SurfacePage } from './figma-surface.ts';
import { PROVENANCE_KEY, readProvenance } from './provenance.ts';

/** What a thumbnail was made from: the layer's image fill and size. A new fill means a new thumbnail. */
function thumbnailKey(node: SurfaceNode): string {
  const fills: readonly { type: string; imageHash?: string }[] = Array.isArray(node.fills) ? node.fills : [];
  const hashes = fills.map((fill) => fill.imageHash ?? fill.type).join(',');
  return `${hashes}|${node.width}x${node.height}`;
}

/**
 * The history of results, rebuilt from the layers on every page of the file: every node with
 * PIXELS provenance, newest first, each with a small thumbnail and its page. Nothing is stored
 * beside the canvas, so the history is the file's own (teammates see the same) and survives
 * closing the plugin.
 */
export class ResultHistory {
  private readonly thumbnails = new Map<string, { key: string; png: Uint8Array }>();
  /** Under dynamic-page access the other pages are loaded once per run, before the first search. */
  private pagesLoaded: Promise<void> | undefined;

  constructor(private readonly api: Pick<FigmaSurface, 'root' | 'loadAllPagesAsync'>) {}

  async list(): Promise<HistoryEntry[]> {
    this.pagesLoaded ??= this.api.loadAllPagesAsync();
    await this.pagesLoaded;
    const entries: HistoryEntry[] = [];
    for (const page of this.api.root.children) entries.push(...(await this.entriesOn(page)));
    return entries.sort((a, b) => b.provenance.placedAt.localeCompare(a.provenance.placedAt));
  }

  private async entriesOn(page: SurfacePage): Promise<HistoryEntry[]> {
    const nodes = page.findAllWithCriteria({ pluginData: { keys: [PROVENANCE_KEY] } });
    const entries: HistoryEntry[] = [];
    for (const node of nodes) {
      if (node.removed) continue;
      const provenance = readProvenance(node);
      if (!provenance) continue;
      const thumbnail = await this.thumbnailOf(node);
      entries.push({
        nodeId: node.id,
        name: node.name,
        provenance,
        page: { id: page.id, name: page.name },
        ...(thumbnail ? { thumbnail } : {}),
      });
    }
    return entries;
  }

  private async thumbnailOf(node: SurfaceNode): Promise<Uint8Array | undefined> {
    const key = thumbnailKey(node);
    const cached = this.thumbnails.get(node.id);
    if (cached?.key === key) return cached.png;
    const scale = Math.min(1, HISTORY_THUMBNAIL_SIDE / Math.max(node.width, node.height, 1));
    try {
      const png = await node.exportAsync({
        format: 'PNG',
        constraint: { type: 'SCALE', value: scale },
        useAbsoluteBounds: true,
      });
      this.thumbnails.set(node.id, { key, png });
      return png;
    } catch {
      // A layer that cannot be exported still belongs in the history, without a picture.
      return undefined;
    }
  }
}
