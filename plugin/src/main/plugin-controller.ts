import type { EditSettings } from '@pixels/shared';
import type { MainToUi } from '../messages/main-to-ui.ts';
import { parseMessage } from '../messages/parse-message.ts';
import type { SelectionSummary } from '../messages/selection-summary.ts';
import { UiToMain } from '../messages/ui-to-main.ts';
import { assignRoles } from './assign-roles.ts';
import { describeLayer } from './describe-layer.ts';
import { type EditSpread, exportLayers, type RoleNodes } from './export-layers.ts';
import {
  type FigmaSurface,
  isSurfaceNode,
  type SurfaceNode,
  type SurfaceNodeChange,
  type SurfaceParent,
} from './figma-surface.ts';
import { readChosenRole, writeChosenOrder, writeChosenRole } from './node-memory.ts';
import { placeResult } from './place-result.ts';
import { readProvenance } from './provenance.ts';
import { relaunchModeOf } from './relaunch-commands.ts';
import { ResultHistory } from './result-history.ts';
import {
  addPendingJob,
  documentKeyOf,
  loadConnection,
  loadPanelSettings,
  loadPendingJobs,
  removePendingJob,
  saveConnection,
  savePanelSettings,
} from './stored-state.ts';

export const PANEL_SIZE = Object.freeze({ width: 340, height: 720 });

/** Properties the plugin itself changes on the selection; they do not change what a blend sees. */
const NOT_EDITS: ReadonlySet<string> = new Set(['visible', 'pluginData', 'relaunchData', 'name']);
const NODE_CHANGE_DELAY_MS = 200;

/** Whether the node with `id` is a descendant of `ancestor`. */
function isInside(id: string, ancestor: SurfaceNode): boolean {
  const children = (ancestor as Partial<SurfaceParent>).children;
  return children?.some((child) => child.id === id || isInside(id, child)) ?? false;
}

/**
 * The main thread: watches the selection, answers the panel's requests (export, placement,
 * storage) and keeps every Figma call here. Messages are handled one at a time, in order.
 */
export class PluginController {
  private queue: Promise<void> = Promise.resolve();
  private relaunch: { mode: 'again' | 'variation'; settings: EditSettings } | undefined;
  private readonly history: ResultHistory;

  constructor(private readonly api: FigmaSurface) {
    this.history = new ResultHistory(api);
  }

  /** Sends a message to the panel. */
  post(message: MainToUi): void {
    this.api.ui.postMessage(message);
  }

  /** Reads the selection and assigns roles. */
  summarizeSelection(): SelectionSummary {
    return assignRoles(this.api.currentPage.selection.map(describeLayer));
  }

  /** Whether an export is under way: it hides the exemplars, the map and earlier results for a while. */
  private exporting = false;
  private selectionChangedWhileExporting = false;

  selectionChanged(): void {
    // Layers hidden for the export would read as hidden (and the selection as not blendable,
    // with nothing to say otherwise once they are shown): the panel hears once the export ends.
    if (this.exporting) {
      this.selectionChangedWhileExporting = true;
      return;
    }
    this.post({ type: 'selection', selection: this.summarizeSelection() });
  }

  private nodeChangeTimer: ReturnType<typeof setTimeout> | undefined;

  /**
   * A selected layer or one inside it moved, resized or was repainted: tell the panel again, so
   * its preview is redrawn. Changes the plugin makes itself while exporting (hiding overlays) or
   * remembering (plugin data) are not edits and are left out, or every export would start another.
   */
  nodesChanged(changes: readonly SurfaceNodeChange[]): void {
    const edits = changes.filter(
      (change) =>
        change.type !== 'PROPERTY_CHANGE' || (change.properties ?? []).some((property) => !NOT_EDITS.has(property)),
    );
    if (edits.length === 0) return;
    const selected = this.api.currentPage.selection;
    const touches = edits.some((change) => selected.some((node) => node.id === change.id || isInside(change.id, node)));
    if (!touches) return;
    clearTimeout(this.nodeChangeTimer);
    this.nodeChangeTimer = setTimeout(() => this.selectionChanged(), NODE_CHANGE_DELAY_MS);
  }

  /** Queues one raw message from the panel; the returned promise settles once it is handled. */
  receive(raw: unknown): Promise<void> {
    const handled = this.queue.then(() => this.handle(raw));
    this.queue = handled.catch(() => undefined);
    return handled;
  }

  /** When started from a result's relaunch button, reselects the layers it was made from. */
  async prepareRelaunch(): Promise<void> {
    const mode = relaunchModeOf(this.api.command);
    if (!mode) return;
    const [result] = this.api.currentPage.selection;
    try {
      const provenance = await this.reselectLayersOf(result);
      this.relaunch = { mode, settings: provenance.settings };
    } catch (error) {
      this.api.notify((error as Error).message, { error: true });
    }
  }

  /** Selects the layers a result was made from again; throws, in plain words, when that cannot be done. */
  private async reselectLayersOf(result: SurfaceNode | undefined) {
    const provenance = result ? readProvenance(result) : undefined;
    if (!provenance) throw new Error('Select a PIXELS result layer to blend it again.');
    const ids = [provenance.sourceId, ...provenance.exemplarIds, ...(provenance.mapId ? [provenance.mapId] : [])];
    const nodes: SurfaceNode[] = [];
    for (const id of ids) {
      const node = await this.api.getNodeByIdAsync(id);
      if (isSurfaceNode(node) && !node.removed) nodes.push(node);
    }
    if (nodes.length !== ids.length) {
      throw new Error('Some layers this result was made from are gone; select the layers to blend and try again.');
    }
    await this.showPageOf(nodes[0]);
    this.api.currentPage.selection = nodes;
    return provenance;
  }

  /** Makes the page holding `node` the current one (a selection can only hold layers of the current page). */
  private async showPageOf(node: SurfaceNode): Promise<void> {
    let ancestor = node.parent;
    while (ancestor && ancestor.type !== 'PAGE') ancestor = ancestor.parent;
    if (!ancestor || ancestor.id === this.api.currentPage.id) return;
    const page = this.api.root.children.find((candidate) => candidate.id === ancestor.id);
    if (page) await this.api.setCurrentPageAsync(page);
  }

  /** Sends the panel the results on every page of the file. */
  async postHistory(): Promise<void> {
    this.post({ type: 'history', entries: await this.history.list() });
  }

  private async resultNode(nodeId: string): Promise<SurfaceNode | undefined> {
    const node = await this.api.getNodeByIdAsync(nodeId);
    return isSurfaceNode(node) && !node.removed && readProvenance(node) ? node : undefined;
  }

  private async handle(raw: unknown): Promise<void> {
    let message: UiToMain;
    try {
      message = parseMessage(UiToMain, raw, 'panel → main');
    } catch (error) {
      console.error((error as Error).message);
      return;
    }
    const storage = this.api.clientStorage;
    switch (message.type) {
      case 'ready': {
        const [connection, settings, pendingJobs] = await Promise.all([
          loadConnection(storage),
          loadPanelSettings(storage),
          loadPendingJobs(storage, documentKeyOf(this.api)),
        ]);
        this.post({
          type: 'init',
          connection,
          settings,
          selection: this.summarizeSelection(),
          pendingJobs,
          ...(this.relaunch ? { relaunch: this.relaunch } : {}),
        });
        this.relaunch = undefined;
        await this.postHistory();
        return;
      }
      case 'list-history':
        await this.postHistory();
        return;
      case 'select-result': {
        const node = await this.resultNode(message.nodeId);
        if (!node) {
          this.api.notify('That result layer is gone.', { error: true });
          await this.postHistory();
          return;
        }
        await this.showPageOf(node);
        this.api.currentPage.selection = [node];
        this.api.viewport.scrollAndZoomIntoView([node]);
        return;
      }
      case 'delete-result': {
        const node = await this.resultNode(message.nodeId);
        if (node) {
          const name = node.name;
          this.api.commitUndo();
          node.remove();
          this.api.commitUndo();
          this.api.notify(`Deleted "${name}". Undo brings it back.`);
        }
        await this.postHistory();
        return;
      }
      case 'rerun-result': {
        const node = await this.resultNode(message.nodeId);
        try {
          const provenance = await this.reselectLayersOf(node);
          this.post({
            type: 'rerun',
            nodeId: message.nodeId,
            settings: provenance.settings,
            seed: provenance.seed,
            selection: this.summarizeSelection(),
          });
        } catch (error) {
          this.post({ type: 'rerun-failed', nodeId: message.nodeId, message: (error as Error).message });
        }
        return;
      }
      case 'set-role':
        this.setRole(message.nodeId, message.role);
        this.selectionChanged();
        return;
      case 'set-exemplar-order':
        message.nodeIds.forEach((id, order) => {
          const node = this.selectedNode(id);
          if (node) writeChosenOrder(node, order);
        });
        this.selectionChanged();
        return;
      case 'save-settings':
        await savePanelSettings(storage, message.settings);
        return;
      case 'save-connection':
        await saveConnection(storage, message.connection);
        return;
      case 'export-layers':
        await this.exportSelection(message.requestId, message.maxSide, message.edit);
        return;
      case 'job-submitted':
        await addPendingJob(storage, documentKeyOf(this.api), message.job);
        return;
      case 'job-ended':
        await removePendingJob(storage, documentKeyOf(this.api), message.jobId);
        return;
      case 'place-result':
        try {
          const placed = await placeResult(this.api, message);
          await removePendingJob(storage, documentKeyOf(this.api), message.jobId);
          this.post({
            type: 'placed',
            jobId: message.jobId,
            nodeId: placed.node.id,
            name: placed.name,
            notes: message.notes,
          });
          this.api.notify(`Placed "${placed.name}"`);
        } catch (error) {
          this.post({ type: 'place-failed', jobId: message.jobId, message: (error as Error).message });
          await this.postHistory();
        }
        // A placed result's history entry waits for the panel to ask (list-history) once it has the
        // answer: its thumbnail is an export, and the answer is what the designer waits for.
        return;
      case 'notify':
        this.api.notify(message.message, { error: message.error });
        return;
    }
  }

  private selectedNode(id: string): SurfaceNode | undefined {
    return this.api.currentPage.selection.find((node) => node.id === id);
  }

  private setRole(nodeId: string, role: Parameters<typeof writeChosenRole>[1]): void {
    const node = this.selectedNode(nodeId);
    if (!node) return;
    if (role === 'source') {
      // One source at a time: a new choice replaces an earlier one.
      for (const other of this.api.currentPage.selection) {
        if (other !== node && readChosenRole(other) === 'source') writeChosenRole(other, 'automatic');
      }
    }
    writeChosenRole(node, role);
  }

  private async exportSelection(requestId: string, maxSide: number, spread?: EditSpread): Promise<void> {
    const summary = this.summarizeSelection();
    const blocking = summary.issues.find((issue) => issue.severity === 'error');
    if (blocking || !summary.source) {
      this.post({ type: 'export-failed', requestId, message: blocking?.message ?? 'Select a source layer first.' });
      return;
    }
    const byId = (id: string) => this.selectedNode(id)!;
    const nodes: RoleNodes = {
      source: byId(summary.source.id),
      exemplars: summary.exemplarIds.map(byId),
      ...(summary.mapId ? { map: byId(summary.mapId) } : {}),
    };
    this.exporting = true;
    try {
      this.post({ type: 'layers-exported', requestId, layers: await exportLayers(this.api, nodes, maxSide, spread) });
    } catch (error) {
      this.post({ type: 'export-failed', requestId, message: (error as Error).message });
    } finally {
      this.exporting = false;
      if (this.selectionChangedWhileExporting) {
        this.selectionChangedWhileExporting = false;
        this.selectionChanged();
      }
    }
  }
}

/** Opens the panel and wires Figma's events to the controller. */
export async function startPlugin(api: FigmaSurface, html: string): Promise<PluginController> {
  const controller = new PluginController(api);
  await controller.prepareRelaunch();
  api.ui.onmessage = (message) => {
    void controller.receive(message);
  };
  api.on('selectionchange', () => controller.selectionChanged());
  const watchPage = () => api.currentPage.on('nodechange', (event) => controller.nodesChanged(event.nodeChanges));
  watchPage();
  api.on('currentpagechange', () => {
    watchPage();
    controller.selectionChanged();
    void controller.receive({ type: 'list-history' });
  });
  api.showUI(html, { ...PANEL_SIZE, title: 'PIXELS', themeColors: true });
  return controller;
}
