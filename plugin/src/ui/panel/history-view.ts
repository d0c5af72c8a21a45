import type { HistoryEntry } from '../../messages/history-entry.ts';
import { element, type PanelElements } from './elements.ts';

export interface HistoryHandlers {
  select(nodeId: string): void;
  rerun(nodeId: string): void;
  remove(nodeId: string): void;
  /** A tile was chosen: its actions show under the batch. */
  choose(batchKey: string, nodeId: string): void;
}

/** Results of one click (variations) together, newest batch first. */
export interface HistoryBatch {
  key: string;
  entries: HistoryEntry[];
}

export function groupBatches(entries: readonly HistoryEntry[]): HistoryBatch[] {
  const batches = new Map<string, HistoryEntry[]>();
  for (const entry of entries) {
    const key = entry.provenance.batchId ?? entry.nodeId;
    batches.set(key, [...(batches.get(key) ?? []), entry]);
  }
  // Entries arrive newest first; inside a batch show them in the order they were asked for.
  const order = (entry: HistoryEntry) => entry.provenance.variation ?? 0;
  return [...batches].map(([key, group]) => ({
    key,
    entries: [...group].sort(
      (a, b) => order(a) - order(b) || a.provenance.placedAt.localeCompare(b.provenance.placedAt),
    ),
  }));
}

/** The settings a batch shares, in the words of the panel. */
export function describeSettings(entry: HistoryEntry): string {
  const { settings } = entry.provenance;
  return `${settings.model} · strength ${settings.strength} · ${settings.steps} steps · ${settings.threshold}`;
}

/**
 * Each result's thumbnail as a data URL, by layer id. Every history message carries every
 * thumbnail again (new arrays), and base64-encoding a 40 KB thumbnail takes milliseconds: the URL
 * is made again only when the layer's thumbnail bytes differ from those it was made from.
 */
const dataUrls = new Map<string, { bytes: Uint8Array; url: string }>();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function pngDataUrl(nodeId: string, bytes: Uint8Array): string {
  const cached = dataUrls.get(nodeId);
  if (cached && sameBytes(cached.bytes, bytes)) return cached.url;
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  const url = `data:image/png;base64,${btoa(binary)}`;
  dataUrls.set(nodeId, { bytes, url });
  return url;
}

/**
 * The batches a list shows and what they were drawn from. The panel redraws the list on every
 * change of a running blend (each step, each phase): only the running tiles change then, so the
 * batches (their thumbnails, their layout) are kept, and drawn again only when the history or the
 * chosen tiles changed.
 */
interface DrawnBatches {
  entries: readonly HistoryEntry[];
  chosen: string;
  items: HTMLLIElement[];
}
const drawnBatches = new WeakMap<HTMLElement, DrawnBatches>();

/** One formatter for every redraw (`toLocaleTimeString` with options builds a new one per call). */
const TIME_OF_DAY = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit' });

/**
 * The history list: the running blend's tiles first, then one block per batch with its
 * thumbnails side by side (variations compare at a glance) and the chosen result's actions.
 */
export function renderHistory(
  elements: PanelElements,
  entries: readonly HistoryEntry[],
  running: HTMLLIElement | undefined,
  chosen: ReadonlyMap<string, string>,
  canRerun: boolean,
  handlers: HistoryHandlers,
): void {
  const list = elements.historyList;
  const chosenKey = JSON.stringify([...chosen]);
  const drawn = drawnBatches.get(list);
  const shown = list.firstElementChild;
  const runningShown = shown?.getAttribute('data-running') === 'true' ? shown : undefined;
  if (drawn && drawn.entries === entries && drawn.chosen === chosenKey) {
    // The handlers are the panel's, the same on every call: the kept batches' buttons still reach them.
    if (running && runningShown) runningShown.replaceWith(running);
    else if (running) list.prepend(running);
    else runningShown?.remove();
    for (const item of drawn.items)
      for (const rerun of Array.from(item.querySelectorAll<HTMLButtonElement>('[data-action="rerun"]')))
        rerun.disabled = !canRerun;
  } else {
    const document = list.ownerDocument;
    const batches = groupBatches(entries);
    // The history covers every page; where results lie on several, each block names its page.
    const showPages = new Set(entries.map((entry) => entry.page.id)).size > 1;
    const items = batches.map((batch) =>
      batchItem(document, batch, chosen.get(batch.key), canRerun, showPages, handlers),
    );
    drawnBatches.set(list, { entries, chosen: chosenKey, items });
    list.replaceChildren(...(running ? [running] : []), ...items);
  }
  elements.historyCount.textContent =
    entries.length > 0
      ? `${entries.length} result${entries.length === 1 ? '' : 's'}`
      : running
        ? 'the first result is on its way'
        : 'none in this file yet';
}

function batchItem(
  document: Document,
  batch: HistoryBatch,
  chosenId: string | undefined,
  canRerun: boolean,
  showPage: boolean,
  handlers: HistoryHandlers,
): HTMLLIElement {
  const chosen = batch.entries.find((entry) => entry.nodeId === chosenId) ?? batch.entries[0];
  const item = element(document, 'li', { class: 'history-batch', 'data-batch': batch.key });
  const head = element(document, 'div', { class: 'batch-head' });
  const placedAt = new Date(chosen.provenance.placedAt);
  head.append(
    element(document, 'span', { class: 'batch-settings', title: describeSettings(chosen) }, describeSettings(chosen)),
    element(document, 'span', {}, TIME_OF_DAY.format(placedAt)),
  );
  if (showPage) head.append(element(document, 'span', { class: 'batch-page' }, chosen.page.name));
  const tiles = element(document, 'div', { class: 'tiles', role: 'group', 'aria-label': 'Results of this blend' });
  for (const entry of batch.entries) {
    const tile = element(document, 'button', {
      class: 'tile history-entry',
      type: 'button',
      'data-node-id': entry.nodeId,
      'aria-pressed': String(entry === chosen),
      title: entry.name,
    });
    if (entry.thumbnail)
      tile.append(
        element(document, 'img', {
          class: 'tile-image',
          src: pngDataUrl(entry.nodeId, entry.thumbnail),
          alt: entry.name,
        }),
      );
    else tile.append(element(document, 'span', { class: 'tile-image', 'aria-hidden': 'true' }));
    tile.append(element(document, 'span', { class: 'tile-caption' }, `seed ${entry.provenance.seed}`));
    tile.addEventListener('click', () => handlers.choose(batch.key, entry.nodeId));
    tile.addEventListener('dblclick', () => handlers.select(entry.nodeId));
    tiles.append(tile);
  }
  const actions = element(document, 'div', { class: 'entry-actions' });
  const action = (name: string, label: string, text: string, run: () => void) => {
    const button = element(
      document,
      'button',
      { class: 'button quiet', type: 'button', 'data-action': name, 'aria-label': label },
      text,
    );
    button.addEventListener('click', run);
    return button;
  };
  const rerun = action(
    'rerun',
    `Re-run with seed ${chosen.provenance.seed}`,
    `Re-run seed ${chosen.provenance.seed}`,
    () => handlers.rerun(chosen.nodeId),
  );
  // Re-running needs the server and no blend in progress.
  rerun.disabled = !canRerun;
  actions.append(
    action('select', `Select and zoom to ${chosen.name}`, 'Select', () => handlers.select(chosen.nodeId)),
    rerun,
    action('delete', `Delete ${chosen.name}`, 'Delete', () => handlers.remove(chosen.nodeId)),
  );
  item.append(head, tiles, actions);
  return item;
}
