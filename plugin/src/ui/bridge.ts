import type { ExportedLayers } from '../messages/exported-layers.ts';
import { MainToUi } from '../messages/main-to-ui.ts';
import { parseMessage } from '../messages/parse-message.ts';
import type { PlaceResultMessage, UiToMain } from '../messages/ui-to-main.ts';

type Placed = Extract<MainToUi, { type: 'placed' }>;

/** Where messages go: Figma's UI iframe posts to its parent window. */
export interface MessageTarget {
  postMessage(message: unknown, targetOrigin: string): void;
}

/**
 * The panel's side of the main-thread channel: typed sends, parsed receives, and request/response
 * pairs for exporting layers and placing results.
 */
export class MainBridge {
  private readonly listeners = new Set<(message: MainToUi) => void>();
  private readonly exports = new Map<string, { resolve(layers: ExportedLayers): void; reject(error: Error): void }>();
  private readonly placements = new Map<string, { resolve(placed: Placed): void; reject(error: Error): void }>();
  private nextRequest = 0;

  constructor(private readonly target: MessageTarget) {}

  send(message: UiToMain): void {
    this.target.postMessage({ pluginMessage: message }, '*');
  }

  /** Feeds one `message` event's data from the window (Figma wraps it in `pluginMessage`). */
  receive(data: unknown): void {
    if (typeof data !== 'object' || data === null || !('pluginMessage' in data)) return;
    let message: MainToUi;
    try {
      message = parseMessage(MainToUi, data.pluginMessage, 'main → panel');
    } catch (error) {
      console.error((error as Error).message);
      return;
    }
    if (message.type === 'layers-exported' || message.type === 'export-failed') {
      const pending = this.exports.get(message.requestId);
      this.exports.delete(message.requestId);
      if (message.type === 'layers-exported') pending?.resolve(message.layers);
      else pending?.reject(new Error(message.message));
    } else if (message.type === 'placed' || message.type === 'place-failed') {
      const pending = this.placements.get(message.jobId);
      this.placements.delete(message.jobId);
      if (message.type === 'placed') pending?.resolve(message);
      else pending?.reject(new Error(message.message));
    }
    for (const listener of this.listeners) listener(message);
  }

  onMessage(listener: (message: MainToUi) => void): void {
    this.listeners.add(listener);
  }

  /**
   * Asks the main thread to rasterize the selection, at most `maxSide` pixels on the long side
   * sent; with `edit`, sized for the region around the edit (see planExport).
   */
  exportLayers(maxSide: number, edit?: { spreadPx: number; invertMap: boolean }): Promise<ExportedLayers> {
    const requestId = `export-${++this.nextRequest}`;
    return new Promise((resolve, reject) => {
      this.exports.set(requestId, { resolve, reject });
      this.send({ type: 'export-layers', requestId, maxSide, ...(edit ? { edit } : {}) });
    });
  }

  /** Asks the main thread to place a result over its source. */
  placeResult(message: Omit<PlaceResultMessage, 'type'>): Promise<Placed> {
    return new Promise((resolve, reject) => {
      this.placements.set(message.jobId, { resolve, reject });
      this.send({ type: 'place-result', ...message });
    });
  }
}
