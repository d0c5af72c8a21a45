import type { ModelSummary } from '@pixels/shared';
import { workingSizeFor } from '../main/geometry.ts';
import type { PendingJob } from '../messages/job-records.ts';
import type { MainToUi } from '../messages/main-to-ui.ts';
import {
  type Connection,
  DEFAULT_CONNECTION,
  DEFAULT_PANEL_SETTINGS,
  type PanelSettings,
} from '../messages/panel-settings.ts';
import type { SelectionSummary } from '../messages/selection-summary.ts';
import { ApiError } from './api/api-error.ts';
import { PixelsClient } from './api/pixels-client.ts';
import { BlendSession } from './blend/blend-session.ts';
import { type ComposedLayers, composeLayers, type DecodeImage } from './blend/compose-layers.ts';
import { editMapFor } from './blend/edit-map.ts';
import type { MainBridge } from './bridge.ts';
import { overlayMap } from './images/map-overlay.ts';
import type { PanelElements } from './panel/elements.ts';
import { renderSession } from './panel/jobs-view.ts';
import { renderLayers } from './panel/layers-view.ts';
import { clearCanvas, drawRaster } from './panel/map-preview.ts';
import {
  describeModel,
  readSettingsFromForm,
  refreshDerivedLabels,
  setModelOptions,
  writeSettingsToForm,
} from './panel/settings-form.ts';

/** Long side of the layers exported for the map preview, in pixels: small, so it stays quick. */
const PREVIEW_SIDE = 320;
const PREVIEW_DELAY_MS = 250;
const SAVE_DELAY_MS = 400;

export interface PanelAppDeps {
  fetch?: typeof fetch;
  decode: DecodeImage;
}

/** The panel: connects the form, the main thread and the server. */
export class PanelApp {
  private settings: PanelSettings = DEFAULT_PANEL_SETTINGS;
  private connection: Connection = DEFAULT_CONNECTION;
  private models: ModelSummary[] = [];
  private selection: SelectionSummary | undefined;
  private preview: { layers: ComposedLayers; frameScale: number; fullSide: number } | undefined;
  private session: BlendSession | undefined;
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
      control.addEventListener('input', () => this.formChanged());
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
    ]) {
      control.addEventListener('change', () => this.formChanged());
    }
    e.model.addEventListener('change', () => describeModel(e, this.currentModel()));
    e.connect.addEventListener('click', () => void this.connect());
    e.blend.addEventListener('click', () => void this.blend());
    e.cancel.addEventListener('click', () => void this.session?.cancel());
    this.renderBlendButton();
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
        void this.connect();
        if (message.pendingJobs.length > 0) void this.resume(message.pendingJobs);
        else if (this.relaunchPending && message.selection.canBlend) {
          this.relaunchPending = false;
          void this.blend();
        }
        return;
      case 'selection':
        this.selectionChanged(message.selection);
        return;
      default:
        return;
    }
  }

  private selectionChanged(selection: SelectionSummary): void {
    this.selection = selection;
    renderLayers(this.elements, selection, {
      setRole: (nodeId, role) => this.bridge.send({ type: 'set-role', nodeId, role }),
      setExemplarOrder: (nodeIds) => this.bridge.send({ type: 'set-exemplar-order', nodeIds }),
    });
    const mapRow = selection.rows.find((row) => row.id === selection.mapId);
    this.elements.mapOrigin.textContent = mapRow ? `from the layer "${mapRow.name}"` : "from the exemplars' shape";
    this.elements.mapShapeControls.hidden = Boolean(mapRow);
    this.elements.mapInvertRow.hidden = !mapRow;
    this.renderWorkingSizeHint();
    this.renderBlendButton();
    this.schedulePreview();
  }

  private formChanged(): void {
    this.settings = readSettingsFromForm(this.elements, this.settings);
    refreshDerivedLabels(this.elements);
    this.renderWorkingSizeHint();
    this.drawPreview();
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

  /** "Connect": checks the server by listing its models, then remembers URL and token. */
  private async connect(): Promise<void> {
    const e = this.elements;
    e.connectionStatus.dataset.state = 'unknown';
    e.connectionStatus.textContent = 'Connecting…';
    e.connectMessage.textContent = '';
    try {
      const client = this.client();
      const { models } = await client.models();
      this.models = models;
      this.connection = { serverUrl: client.serverUrl, token: e.serverToken.value.trim() };
      e.serverUrl.value = client.serverUrl;
      this.bridge.send({ type: 'save-connection', connection: this.connection });
      if (models.length > 0 && !models.some((model) => model.name === this.settings.edit.model)) {
        this.settings = { ...this.settings, edit: { ...this.settings.edit, model: models[0].name } };
        this.bridge.send({ type: 'save-settings', settings: this.settings });
      }
      setModelOptions(e, models, this.settings.edit.model);
      describeModel(e, this.currentModel());
      e.connectionStatus.dataset.state = 'connected';
      e.connectionStatus.textContent = `Connected · ${models.length} model${models.length === 1 ? '' : 's'}`;
      e.connectMessage.textContent = models.map((model) => model.name).join(', ');
    } catch (error) {
      e.connectionStatus.dataset.state = 'failed';
      e.connectionStatus.textContent = 'Not connected';
      const advice = error instanceof ApiError ? ` ${error.advice}` : '';
      e.connectMessage.textContent = `${(error as Error).message}${advice}`;
      e.serverSection.open = true;
    }
  }

  private newSession(): BlendSession {
    return new BlendSession({
      bridge: this.bridge,
      clientFor: (serverUrl) => new PixelsClient(serverUrl, this.elements.serverToken.value.trim(), this.deps.fetch),
      decode: this.deps.decode,
      onChange: (view) => {
        renderSession(this.elements, view, { useSeed: (seed) => this.useSeed(seed) });
        this.renderBlendButton();
      },
    });
  }

  private async blend(): Promise<void> {
    if (this.session?.isRunning || !this.selection?.canBlend) return;
    let client: PixelsClient;
    try {
      client = this.client();
    } catch (error) {
      this.elements.serverSection.open = true;
      renderSession(
        this.elements,
        {
          phase: 'idle',
          jobs: [],
          notes: [],
          problem: { message: (error as Error).message, advice: 'Fix the server URL under Server, then blend again.' },
        },
        { useSeed: () => undefined },
      );
      return;
    }
    this.session = this.newSession();
    await this.session.start(this.settings, client);
    this.renderBlendButton();
  }

  private async resume(jobs: readonly PendingJob[]): Promise<void> {
    this.session = this.newSession();
    await this.session.resume(jobs);
    this.renderBlendButton();
    if (this.relaunchPending && this.selection?.canBlend) {
      this.relaunchPending = false;
      await this.blend();
    }
  }

  private useSeed(seed: number): void {
    this.settings = { ...this.settings, seedMode: 'fixed', edit: { ...this.settings.edit, seed } };
    writeSettingsToForm(this.elements, this.settings);
    setModelOptions(this.elements, this.models, this.settings.edit.model);
    this.bridge.send({ type: 'save-settings', settings: this.settings });
  }

  private renderBlendButton(): void {
    const e = this.elements;
    const running = this.session?.isRunning ?? false;
    const blockingIssue = this.selection?.issues.find((issue) => issue.severity === 'error');
    e.blend.disabled = running || !this.selection?.canBlend;
    if (running) return;
    e.blendBlocker.textContent = blockingIssue
      ? 'Fix the selection above to blend.'
      : this.selection
        ? ''
        : 'Waiting for Figma…';
  }

  private renderWorkingSizeHint(): void {
    const source = this.selection?.source;
    if (!source) {
      this.elements.workingSizeHint.textContent = '';
      return;
    }
    const size = workingSizeFor({ x: 0, y: 0, width: source.width, height: source.height }, this.settings.workingSize);
    this.elements.workingSizeHint.textContent = size.capped
      ? `Sends ${size.width}×${size.height} px; the source is ${size.fullWidth}×${size.fullHeight} at 1x.`
      : `Sends the source at 1x: ${size.width}×${size.height} px.`;
  }

  private schedulePreview(): void {
    clearTimeout(this.previewTimer);
    const generation = ++this.previewGeneration;
    if (!this.selection?.canBlend) {
      this.preview = undefined;
      clearCanvas(this.elements.mapPreview);
      this.elements.mapPreviewHint.textContent = 'The preview appears once the selection can be blended.';
      return;
    }
    this.previewTimer = setTimeout(async () => {
      if (this.session?.isRunning) return;
      try {
        const exported = await this.bridge.exportLayers(PREVIEW_SIDE);
        const layers = await composeLayers(exported, this.deps.decode);
        if (generation !== this.previewGeneration) return;
        this.preview = {
          layers,
          frameScale: exported.frame.scale,
          fullSide: Math.max(exported.frame.fullWidth, exported.frame.fullHeight),
        };
        this.drawPreview();
      } catch (error) {
        if (generation !== this.previewGeneration) return;
        this.elements.mapPreviewHint.textContent = `No preview: ${(error as Error).message}`;
      }
    }, PREVIEW_DELAY_MS);
  }

  /** Redraws the map preview from the exported preview layers and the current sliders. */
  private drawPreview(): void {
    if (!this.preview) return;
    const { layers, frameScale, fullSide } = this.preview;
    // Grow and feather are in working pixels; the preview frame is smaller.
    const workingScale = Math.min(1, this.settings.workingSize / fullSide);
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
    drawRaster(this.elements.mapPreview, overlayMap(layers.source, map));
    this.elements.mapPreviewHint.textContent = 'Blue changes, clear keeps the source.';
  }
}
