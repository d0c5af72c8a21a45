import type { ModelSummary, ServerRequestLimits } from '@pixels/shared';
import type { Box } from '../common/box.ts';
import { exportSizeFor, planExport, shapeMapReach } from '../common/export-sizing.ts';
import type { HistoryEntry } from '../messages/history-entry.ts';
import type { PendingJob } from '../messages/job-records.ts';
import type { MainToUi } from '../messages/main-to-ui.ts';
import {
  type Connection,
  DEFAULT_CONNECTION,
  DEFAULT_PANEL_SETTINGS,
  type PanelSettings,
} from '../messages/panel-settings.ts';
import type { SelectionSummary } from '../messages/selection-summary.ts';
import { PixelsClient } from './api/pixels-client.ts';
import { BlendSession } from './blend/blend-session.ts';
import { type ComposedLayers, composeLayers, type DecodeImage } from './blend/compose-layers.ts';
import { editMapFor } from './blend/edit-map.ts';
import type { Problem, SessionView } from './blend/job-view.ts';
import type { MainBridge } from './bridge.ts';
import { overlayExemplars, overlayMap } from './images/map-overlay.ts';
import { element, type PanelElements } from './panel/elements.ts';
import { renderHistory } from './panel/history-view.ts';
import { runningBatch, setProgress, summarizeRun, type WaitEstimate } from './panel/jobs-view.ts';
import { renderLayers } from './panel/layers-view.ts';
import { clearCanvas, drawRaster } from './panel/map-preview.ts';
import { problemFrom } from './panel/problems.ts';
import {
  applyServerLimits,
  describeModel,
  readSettingsFromForm,
  refreshDerivedLabels,
  setModelOptions,
  writeSettingsToForm,
} from './panel/settings-form.ts';

/** Long side of the layers exported for the map preview, in pixels: small, so it stays quick. */
const PREVIEW_SIDE = 320;
const PREVIEW_DELAY_MS = 250;
/** How often a preview waiting on a blend's compositing looks again. */
const PREVIEW_WAIT_MS = 20;
const SAVE_DELAY_MS = 400;

export interface PanelAppDeps {
  fetch?: typeof fetch;
  decode: DecodeImage;
}

type ConnectionState = 'unknown' | 'connecting' | 'connected' | 'failed';

/** Which layers a preview shows: a new set clears the old picture at once, never shows it as current. */
function selectionKey(selection: SelectionSummary): string {
  return [selection.source?.id ?? '', ...selection.exemplarIds, selection.mapId ?? ''].join('|');
}

/** The panel: connects the form, the main thread and the server. */
export class PanelApp {
  private settings: PanelSettings = DEFAULT_PANEL_SETTINGS;
  private connection: Connection = DEFAULT_CONNECTION;
  private connectionState: ConnectionState = 'unknown';
  private models: ModelSummary[] = [];
  private limits: ServerRequestLimits | undefined;
  private workers = 1;
  private selection: SelectionSummary | undefined;
  private preview:
    | {
        key: string;
        layers: ComposedLayers;
        frameScale: number;
        /** The source's box and what the edit reaches, in canvas units: the blend's export plan. */
        sourceBox: Box;
        reachBoxes: Box[];
        hasMap: boolean;
      }
    | undefined;
  private session: BlendSession | undefined;
  private sessionView: SessionView | undefined;
  private history: HistoryEntry[] = [];
  /** Results placed since the last history came: their tiles stay with the running ones until it has them. */
  private readonly placedUnlisted = new Set<string>();
  private historyTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly chosen = new Map<string, string>();
  private problem: { problem: Problem; origin: 'connection' | 'blend' } | undefined;
  private previewTimer: ReturnType<typeof setTimeout> | undefined;
  private saveTimer: ReturnType<typeof setTimeout> | undefined;
  private previewGeneration = 0;
  private relaunchPending = false;

  constructor(
    private readonly elements: PanelElements,
    private readonly bridge: MainBridge,
    private readonly deps: PanelAppDeps,
  ) {}

  start(): void {
    const e = this.elements;
    this.bridge.onMessage((message) => this.onMessage(message));
    for (const control of [
      e.prompt,
      e.negativePrompt,
      e.strength,
      e.steps,
      e.guidance,
      e.seed,
      e.variations,
      e.mapGrow,
      e.mapFeather,
    ]) {
      control.addEventListener('input', () => this.formChanged(control));
    }
    for (const control of [
      e.model,
      e.threshold,
      e.seedMode,
      e.workingSize,
      e.pasteBack,
      e.previews,
      e.mapFalloff,
      e.mapInvert,
      e.previewExemplar,
    ]) {
      control.addEventListener('change', () => this.formChanged(control));
    }
    e.model.addEventListener('change', () => describeModel(e, this.currentModel()));
    e.connect.addEventListener('click', () => void this.connect());
    e.blend.addEventListener('click', () => void this.blend());
    e.cancel.addEventListener('click', () => void this.session?.cancel());
    e.problemAction.addEventListener('click', () => this.runProblemAction());
    e.serverUrl.ownerDocument.addEventListener('keydown', (event) => {
      if (event.key === 'Enter' && (event.metaKey || event.ctrlKey)) {
        event.preventDefault();
        void this.blend();
      }
    });
    this.render();
    this.bridge.send({ type: 'ready' });
  }

  private onMessage(message: MainToUi): void {
    switch (message.type) {
      case 'init':
        this.connection = message.connection;
        this.settings = message.settings;
        this.elements.serverUrl.value = message.connection.serverUrl;
        this.elements.serverToken.value = message.connection.token;
        if (message.relaunch) {
          const { settings } = message.relaunch;
          const again = message.relaunch.mode === 'again';
          this.settings = { ...this.settings, edit: settings, seedMode: again ? 'fixed' : 'random', variations: 1 };
          this.relaunchPending = true;
        }
        writeSettingsToForm(this.elements, this.settings);
        this.selectionChanged(message.selection);
        // Pending jobs resume right away (they carry their server); a relaunch waits for the connection.
        if (message.pendingJobs.length > 0) void this.resume(message.pendingJobs);
        void this.connect().then(() => {
          if (this.relaunchPending && !this.session?.isRunning) {
            this.relaunchPending = false;
            void this.blend();
          }
        });
        return;
      case 'selection':
        this.selectionChanged(message.selection);
        return;
      case 'history':
        this.history = message.entries;
        this.placedUnlisted.clear();
        this.renderHistory();
        return;
      case 'placed':
        this.placedUnlisted.add(message.nodeId);
        this.requestHistory();
        return;
      case 'rerun':
        this.selectionChanged(message.selection);
        this.settings = {
          ...this.settings,
          edit: { ...message.settings, seed: message.seed },
          seedMode: 'fixed',
          variations: 1,
        };
        writeSettingsToForm(this.elements, this.settings);
        setModelOptions(this.elements, this.models, this.settings.edit.model);
        describeModel(this.elements, this.currentModel());
        this.saveSettings();
        void this.blend();
        return;
      case 'rerun-failed':
        this.showProblem({ message: message.message, advice: '' }, 'blend');
        return;
      default:
        return;
    }
  }

  private selectionChanged(selection: SelectionSummary): void {
    const e = this.elements;
    this.selection = selection;
    const empty = selection.rows.length === 0;
    renderLayers(e, empty ? { ...selection, issues: [] } : selection, {
      setRole: (nodeId, role) => this.bridge.send({ type: 'set-role', nodeId, role }),
      setExemplarOrder: (nodeIds) => this.bridge.send({ type: 'set-exemplar-order', nodeIds }),
    });
    e.guide.hidden = !empty;
    e.layerList.hidden = empty;
    const mapRow = selection.rows.find((row) => row.id === selection.mapId);
    e.mapOrigin.textContent = mapRow ? `from "${mapRow.name}"` : 'from the exemplars';
    e.mapShapeControls.hidden = Boolean(mapRow);
    e.mapInvertRow.hidden = !mapRow;
    this.renderWorkingSizeHint();
    this.render();
    this.schedulePreview();
  }

  private formChanged(control?: HTMLElement): void {
    this.settings = readSettingsFromForm(this.elements, this.settings);
    refreshDerivedLabels(this.elements);
    this.renderWorkingSizeHint();
    if (control && this.problem?.problem.field === control.id) this.showProblem(undefined);
    this.drawPreview();
    this.saveSettings();
  }

  private saveSettings(): void {
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(
      () => this.bridge.send({ type: 'save-settings', settings: this.settings }),
      SAVE_DELAY_MS,
    );
  }

  private currentModel(): ModelSummary | undefined {
    return this.models.find((model) => model.name === this.settings.edit.model);
  }

  /** Builds a client from the URL and token fields (throws with advice when the URL is unusable). */
  private client(): PixelsClient {
    return new PixelsClient(this.elements.serverUrl.value, this.elements.serverToken.value.trim(), this.deps.fetch);
  }

  /** "Connect": checks the server by listing its models and reading its limits, then remembers URL and token. */
  private async connect(): Promise<void> {
    const e = this.elements;
    this.connectionState = 'connecting';
    e.connectionStatus.dataset.state = 'unknown';
    e.connectionStatus.textContent = 'Connecting…';
    this.render();
    let client: PixelsClient | undefined;
    try {
      client = this.client();
      const [{ models }, status] = await Promise.all([client.models(), client.status().catch(() => undefined)]);
      this.models = models;
      this.limits = status?.limits;
      this.workers = Math.max(1, status?.workers ?? 1);
      applyServerLimits(e, this.limits);
      this.connection = { serverUrl: client.serverUrl, token: e.serverToken.value.trim() };
      e.serverUrl.value = client.serverUrl;
      this.bridge.send({ type: 'save-connection', connection: this.connection });
      if (models.length > 0 && !models.some((model) => model.name === this.settings.edit.model)) {
        this.settings = { ...this.settings, edit: { ...this.settings.edit, model: models[0].name } };
        this.bridge.send({ type: 'save-settings', settings: this.settings });
      }
      setModelOptions(e, models, this.settings.edit.model);
      describeModel(e, this.currentModel());
      this.connectionState = 'connected';
      e.connectionStatus.dataset.state = 'connected';
      e.connectionStatus.textContent = `Connected · ${models.length} model${models.length === 1 ? '' : 's'}`;
      if (this.problem?.origin === 'connection') this.showProblem(undefined);
      this.renderHistory();
    } catch (error) {
      this.connectionState = 'failed';
      e.connectionStatus.dataset.state = 'failed';
      e.connectionStatus.textContent = 'Not connected';
      e.serverSection.open = true;
      this.showProblem(
        problemFrom(error, {
          serverUrl: client?.serverUrl ?? e.serverUrl.value,
          workingSize: this.settings.workingSize,
        }),
        'connection',
      );
    }
    this.render();
  }

  private newSession(): BlendSession {
    const session = new BlendSession({
      bridge: this.bridge,
      clientFor: (serverUrl) => new PixelsClient(serverUrl, this.elements.serverToken.value.trim(), this.deps.fetch),
      decode: this.deps.decode,
      problemOf: (error) =>
        problemFrom(error, {
          serverUrl: this.connection.serverUrl,
          ...(this.limits ? { limits: this.limits } : {}),
          workingSize: this.settings.workingSize,
        }),
      onChange: (view) => {
        if (this.session !== session) return;
        this.sessionView = view;
        this.renderRun();
      },
    });
    return session;
  }

  private async blend(): Promise<void> {
    if (this.session?.isRunning || !this.selection?.canBlend || this.connectionState !== 'connected') return;
    let client: PixelsClient;
    try {
      client = this.client();
    } catch (error) {
      this.showProblem(problemFrom(error, { workingSize: this.settings.workingSize }), 'connection');
      return;
    }
    const maxSteps = this.limits?.maxSteps;
    if (maxSteps !== undefined && this.settings.edit.steps > maxSteps) {
      this.showProblem({
        message: `Steps is ${this.settings.edit.steps}; this server runs at most ${maxSteps}.`,
        advice: '',
        action: { kind: 'set-steps', label: `Use ${maxSteps} steps`, value: maxSteps },
        field: 'steps',
      });
      return;
    }
    const maxExemplars = this.limits?.maxExemplars;
    if (maxExemplars !== undefined && this.selection.exemplarIds.length > maxExemplars) {
      this.showProblem({
        message: `This server takes at most ${maxExemplars} exemplars; ${this.selection.exemplarIds.length} are selected.`,
        advice: 'Set some to Ignore in the layer list.',
      });
      return;
    }
    this.showProblem(undefined);
    const session = this.newSession();
    this.session = session;
    // Never send more than the server takes: a square of its pixel limit bounds every side.
    const serverSide = this.limits ? Math.floor(Math.sqrt(this.limits.maxPixels)) : undefined;
    const settings =
      serverSide !== undefined && serverSide < this.settings.workingSize
        ? { ...this.settings, workingSize: serverSide }
        : this.settings;
    await session.start(settings, client, { promptUsed: this.currentModel()?.usesPrompt ?? true });
    this.sessionEnded();
  }

  private async resume(jobs: readonly PendingJob[]): Promise<void> {
    const session = this.newSession();
    this.session = session;
    await session.resume(jobs);
    this.sessionEnded();
    if (this.relaunchPending && this.connectionState === 'connected') {
      this.relaunchPending = false;
      await this.blend();
    }
  }

  /** After a blend or resumed jobs: the preview is redrawn from the canvas as it is now (each placement asked for the history). */
  private sessionEnded(): void {
    this.renderRun();
    this.schedulePreview();
  }

  /**
   * Asks the main thread for the history once a placement is answered (once for answers that
   * come together). Listing it exports the new result's thumbnail, and the main thread takes
   * requests in turn: while a blend exports, composites or uploads, it waits (as the map preview
   * does), so that blend goes first.
   */
  private requestHistory(): void {
    clearTimeout(this.historyTimer);
    const ask = () => {
      if (this.session?.isPreparing) {
        this.historyTimer = setTimeout(ask, PREVIEW_WAIT_MS);
        return;
      }
      this.bridge.send({ type: 'list-history' });
    };
    this.historyTimer = setTimeout(ask, 0);
  }

  private estimate(): WaitEstimate {
    const live = this.sessionView?.jobs.find((job) => job.step && job.elapsedMs);
    if (live?.step && live.elapsedMs) return { msPerStep: live.elapsedMs / live.step, workers: this.workers };
    const rates = this.history
      .flatMap(({ provenance }) =>
        provenance.runMs !== undefined && provenance.runSteps ? [provenance.runMs / provenance.runSteps] : [],
      )
      .sort((a, b) => a - b);
    return {
      ...(rates.length > 0 ? { msPerStep: rates[Math.floor(rates.length / 2)] } : {}),
      workers: this.workers,
    };
  }

  private renderRun(): void {
    const e = this.elements;
    const view = this.sessionView;
    if (view) {
      const summary = summarizeRun(view, this.estimate());
      e.runProgress.hidden = !summary.showBar;
      setProgress(e.runProgress, e.runProgressBar, summary.showBar ? summary.progress : 0);
      e.cancel.hidden = !summary.running;
      const notes = [...view.notes, ...view.jobs.flatMap((job) => job.notes)];
      e.notes.replaceChildren(
        ...[...new Set(notes)].map((note) => element(e.notes.ownerDocument, 'li', { class: 'note' }, note)),
      );
      const failure = view.problem ?? view.jobs.find((job) => job.problem)?.problem;
      if (failure) this.showProblem(failure, 'blend');
      this.runText = summary.text;
    }
    this.render();
    this.renderHistory();
  }

  private runText = '';

  private renderHistory(): void {
    const view = this.sessionView;
    const running = view
      ? runningBatch(this.elements.historyList.ownerDocument, view, this.estimate(), this.placedUnlisted)
      : undefined;
    const canRerun = !(this.session?.isRunning ?? false) && this.connectionState === 'connected';
    renderHistory(this.elements, this.history, running, this.chosen, canRerun, {
      select: (nodeId) => this.bridge.send({ type: 'select-result', nodeId }),
      rerun: (nodeId) => {
        if (this.session?.isRunning || this.connectionState !== 'connected') return;
        this.bridge.send({ type: 'rerun-result', nodeId });
      },
      remove: (nodeId) => this.bridge.send({ type: 'delete-result', nodeId }),
      choose: (batchKey, nodeId) => {
        this.chosen.set(batchKey, nodeId);
        this.renderHistory();
        this.elements.historyList.querySelector<HTMLElement>(`[data-node-id="${CSS.escape(nodeId)}"]`)?.focus();
      },
    });
  }

  /** Shows one problem (or none) in the footer, with its button, and marks the field at fault. */
  private showProblem(problem: Problem | undefined, origin: 'connection' | 'blend' = 'blend'): void {
    const e = this.elements;
    const document = e.problem.ownerDocument;
    for (const marked of Array.from(document.querySelectorAll('[aria-invalid="true"]'))) {
      marked.removeAttribute('aria-invalid');
      marked.closest('.field')?.removeAttribute('data-invalid');
    }
    this.problem = problem ? { problem, origin } : undefined;
    e.problem.hidden = !problem;
    e.problemMessage.textContent = problem?.message ?? '';
    e.problemAdvice.textContent = problem?.advice ?? '';
    e.problemAction.hidden = !problem?.action;
    e.problemAction.textContent = problem?.action?.label ?? '';
    this.render();
    if (!problem?.field) return;
    const control = document.getElementById(problem.field);
    if (!control) return;
    control.setAttribute('aria-invalid', 'true');
    control.closest('.field')?.setAttribute('data-invalid', 'true');
    const details = control.closest('details');
    if (details) details.open = true;
  }

  private runProblemAction(): void {
    const e = this.elements;
    const action = this.problem?.problem.action;
    const field = this.problem?.problem.field;
    if (!action) return;
    switch (action.kind) {
      case 'retry-connect':
      case 'refresh-models':
        void this.connect();
        return;
      case 'open-server':
        e.serverSection.open = true;
        (field === 'server-url' ? e.serverUrl : e.serverToken).focus();
        return;
      case 'blend-again':
        void this.blend();
        return;
      case 'set-steps':
        e.steps.value = String(action.value);
        this.showProblem(undefined);
        this.formChanged();
        e.steps.focus();
        return;
      case 'set-working-size':
        e.workingSize.value = String(action.value);
        this.showProblem(undefined);
        this.formChanged();
        e.workingSize.focus();
        return;
    }
  }

  /** Blend button, status line, disabled controls: everything that follows selection, connection and run. */
  private render(): void {
    const e = this.elements;
    const running = this.session?.isRunning ?? false;
    const selection = this.selection;
    e.editControls.disabled = !selection?.canBlend;
    const connected = this.connectionState === 'connected';
    e.blend.disabled = running || !selection?.canBlend || !connected;
    if (running) {
      e.statusLine.textContent = this.runText;
      return;
    }
    const blocking = selection?.issues.find((issue) => issue.severity === 'error');
    let text: string;
    if (!selection) text = 'Waiting for Figma…';
    else if (selection.rows.length === 0) text = 'Select a source and its exemplars to blend.';
    else if (blocking) text = 'Fix the selection above to blend.';
    else if (this.connectionState === 'connecting') text = 'Connecting to the server…';
    else if (!connected) text = 'Connect first: check the server under Server.';
    // A problem is on show: the status line does not say the opposite, nor say it twice.
    else if (this.problem) text = '';
    else text = this.runText || 'Ready. Ctrl+Enter or ⌘Enter blends.';
    e.statusLine.textContent = text;
  }

  private renderWorkingSizeHint(): void {
    const source = this.selection?.source;
    if (!source) {
      this.elements.workingSizeHint.textContent = '';
      return;
    }
    const cap = this.settings.workingSize;
    const size = exportSizeFor({ x: 0, y: 0, width: source.width, height: source.height }, cap);
    this.elements.workingSizeHint.textContent = size.capped
      ? `The most sent: the region around the edit, or the whole ${size.fullWidth}×${size.fullHeight} source, ` +
        `at 1x up to ${cap} px; larger ones are sent scaled down and placed scaled up.`
      : `Sends the region around the edit, or the whole source, at 1x (${size.width}×${size.height} px at most).`;
  }

  /**
   * Exports the selection small and redraws the map preview. Runs on every selection change and
   * after every blend, also while one runs (the main thread handles requests in turn).
   */
  private schedulePreview(): void {
    const e = this.elements;
    clearTimeout(this.previewTimer);
    const generation = ++this.previewGeneration;
    const selection = this.selection;
    if (!selection?.canBlend) {
      this.preview = undefined;
      clearCanvas(e.mapPreview);
      e.mapPreview.dataset.state = 'empty';
      // No empty grey box: the frame comes back with a picture.
      e.mapPreviewFrame.hidden = true;
      e.mapPreviewHint.textContent = selection?.rows.length ? 'Shown once the selection can be blended.' : '';
      return;
    }
    const key = selectionKey(selection);
    e.mapPreviewFrame.hidden = false;
    if (this.preview?.key !== key) {
      this.preview = undefined;
      clearCanvas(e.mapPreview);
      e.mapPreview.dataset.state = 'loading';
      e.mapPreviewHint.textContent = 'Updating the preview…';
    }
    const draw = async () => {
      // Let a blend export its layers first (the main thread takes requests in turn); draw right after.
      if (this.session?.isPreparing) {
        this.previewTimer = setTimeout(draw, PREVIEW_DELAY_MS);
        return;
      }
      try {
        const exported = await this.bridge.exportLayers(PREVIEW_SIDE);
        // A blend clicked meanwhile composes first: its layers are on the critical path, the preview's not.
        await this.blendPrepared();
        const layers = await composeLayers(exported, this.deps.decode);
        await this.blendPrepared();
        if (generation !== this.previewGeneration) return;
        this.preview = {
          key,
          layers,
          frameScale: exported.frame.scale,
          sourceBox: { x: 0, y: 0, width: exported.frame.fullWidth, height: exported.frame.fullHeight },
          reachBoxes: [...exported.exemplars, ...(exported.map ? [exported.map] : [])].map(({ placement }) => ({
            x: placement.x / exported.frame.scale,
            y: placement.y / exported.frame.scale,
            width: placement.width / exported.frame.scale,
            height: placement.height / exported.frame.scale,
          })),
          hasMap: exported.map !== undefined,
        };
        this.drawPreview();
      } catch (error) {
        if (generation !== this.previewGeneration) return;
        e.mapPreview.dataset.state = 'failed';
        e.mapPreviewHint.textContent = `No preview: ${(error as Error).message}`;
      }
    };
    this.previewTimer = setTimeout(draw, PREVIEW_DELAY_MS);
  }

  /** Resolves once no blend is exporting or compositing (at once when none is). */
  private async blendPrepared(): Promise<void> {
    while (this.session?.isPreparing) await new Promise((resolve) => setTimeout(resolve, PREVIEW_WAIT_MS));
  }

  /** Redraws the map preview from the exported preview layers and the current settings. */
  private drawPreview(): void {
    if (!this.preview) return;
    const e = this.elements;
    const { layers, frameScale, sourceBox, reachBoxes, hasMap, key } = this.preview;
    // Grow and feather are in the pixels sent (the region or the whole frame, at the blend's scale;
    // a region is planned as the main thread plans one it exports alone, through a slice).
    const edit = this.settings.edit;
    const workingScale = planExport(
      sourceBox,
      {
        boxes: reachBoxes,
        spreadPx: hasMap ? 0 : shapeMapReach(edit.grow, edit.feather),
        everywhere: hasMap && edit.invertMap,
      },
      this.settings.workingSize,
      'window',
    ).scale;
    const { map } = editMapFor(
      layers,
      {
        grow: this.settings.edit.grow,
        feather: this.settings.edit.feather,
        falloff: this.settings.falloff,
        invert: this.settings.edit.invertMap,
      },
      frameScale / workingScale,
    );
    const withExemplar = this.settings.previewExemplar;
    drawRaster(
      e.mapPreview,
      withExemplar ? overlayExemplars(layers.source, layers.exemplars, map) : overlayMap(layers.source, map),
    );
    e.mapPreview.dataset.state = 'drawn';
    e.mapPreview.dataset.selection = key;
    e.mapPreview.dataset.showsExemplar = String(withExemplar);
    e.mapPreviewHint.textContent = withExemplar ? 'Exemplar pasted, tinted by the map.' : 'Blue changes; clear keeps.';
  }
}
