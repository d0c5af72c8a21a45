import { DEFAULT_LIMITS, EditSettings, type ModelSummary, type ServerRequestLimits } from '@pixels/shared';
import { type PanelSettings, PanelSettings as PanelSettingsSchema } from '../../messages/panel-settings.ts';
import { element, type PanelElements } from './elements.ts';

/** Shows panel settings in the form controls. */
export function writeSettingsToForm(elements: PanelElements, settings: PanelSettings): void {
  const { edit } = settings;
  setModelOptions(elements, [], edit.model);
  elements.prompt.value = edit.prompt;
  elements.negativePrompt.value = edit.negativePrompt;
  elements.strength.value = String(edit.strength);
  elements.steps.value = String(edit.steps);
  elements.guidance.value = edit.guidance === undefined ? '' : String(edit.guidance);
  elements.threshold.value = edit.threshold;
  elements.seedMode.value = settings.seedMode;
  elements.seed.value = edit.seed === undefined ? '' : String(edit.seed);
  elements.variations.value = String(settings.variations);
  if (!Array.from(elements.workingSize.options).some((option) => option.value === String(settings.workingSize))) {
    elements.workingSize.append(
      element(
        elements.workingSize.ownerDocument,
        'option',
        { value: String(settings.workingSize) },
        `${settings.workingSize} px`,
      ),
    );
  }
  elements.workingSize.value = String(settings.workingSize);
  elements.pasteBack.checked = edit.pasteBack;
  elements.previews.checked = edit.previews;
  elements.mapGrow.value = String(edit.grow);
  elements.mapFeather.value = String(edit.feather);
  elements.mapFalloff.value = settings.falloff;
  elements.mapInvert.checked = edit.invertMap;
  elements.previewExemplar.checked = settings.previewExemplar;
  refreshDerivedLabels(elements);
}

function numberOr(input: HTMLInputElement, fallback: number): number {
  const value = input.valueAsNumber;
  return Number.isFinite(value) ? value : fallback;
}

/**
 * Reads the form back into panel settings. Values the schema refuses (a step count out of range)
 * keep their previous value, so a half-typed number never breaks the settings.
 */
export function readSettingsFromForm(elements: PanelElements, previous: PanelSettings): PanelSettings {
  const edit = previous.edit;
  const seedMode = elements.seedMode.value === 'fixed' ? 'fixed' : 'random';
  const seedValue = elements.seed.valueAsNumber;
  const guidanceValue = elements.guidance.valueAsNumber;
  const candidate = {
    edit: {
      ...edit,
      model: elements.model.value || edit.model,
      prompt: elements.prompt.value,
      negativePrompt: elements.negativePrompt.value,
      strength: numberOr(elements.strength, edit.strength),
      steps: Math.round(numberOr(elements.steps, edit.steps)),
      guidance: Number.isFinite(guidanceValue) ? guidanceValue : undefined,
      threshold: elements.threshold.value,
      seed: Number.isInteger(seedValue) ? seedValue : edit.seed,
      pasteBack: elements.pasteBack.checked,
      previews: elements.previews.checked,
      grow: numberOr(elements.mapGrow, edit.grow),
      feather: numberOr(elements.mapFeather, edit.feather),
      invertMap: elements.mapInvert.checked,
    },
    seedMode,
    variations: Math.round(numberOr(elements.variations, previous.variations)),
    workingSize: Number(elements.workingSize.value) || previous.workingSize,
    falloff: elements.mapFalloff.value,
    previewExemplar: elements.previewExemplar.checked,
  };
  const parsed = PanelSettingsSchema.safeParse(candidate);
  if (parsed.success) return parsed.data;
  // Keep every field that is valid on its own; fall back to the previous value for the rest.
  const merged: Record<string, unknown> = { ...previous };
  const mergedEdit: Record<string, unknown> = { ...edit };
  for (const [key, value] of Object.entries(candidate.edit)) {
    if (EditSettings.safeParse({ ...edit, [key]: value }).success) mergedEdit[key] = value;
  }
  merged.edit = mergedEdit;
  for (const key of ['seedMode', 'variations', 'workingSize', 'falloff', 'previewExemplar'] as const) {
    if (PanelSettingsSchema.safeParse({ ...previous, [key]: candidate[key] }).success) merged[key] = candidate[key];
  }
  return PanelSettingsSchema.parse(merged);
}

const FAMILY_LABELS: Record<ModelSummary['family'], string> = {
  builtin: 'built-in',
  sd1: 'SD 1.x',
  sd2: 'SD 2.x',
  sdxl: 'SDXL',
  'sdxl-refiner': 'SDXL refiner',
  'sd-turbo': 'SD-Turbo',
  'sdxl-turbo': 'SDXL-Turbo',
  lcm: 'LCM',
};

/** A model's name in the menu, with its family when the name does not already say it. */
export function modelLabel(model: ModelSummary): string {
  const family = FAMILY_LABELS[model.family];
  const says = (text: string) =>
    model.name
      .toLowerCase()
      .replace(/[\s_-]/g, '')
      .includes(text.toLowerCase().replace(/[\s._-]/g, ''));
  return says(model.family) || says(family) ? model.name : `${model.name} · ${family}`;
}

/** Caps the inputs at what the server accepts (from its status endpoint). */
export function applyServerLimits(elements: PanelElements, limits: ServerRequestLimits | undefined): void {
  elements.steps.max = String(limits?.maxSteps ?? DEFAULT_LIMITS.maxSteps);
  const promptLength = String(limits?.maxPromptLength ?? DEFAULT_LIMITS.maxPromptLength);
  elements.prompt.maxLength = Number(promptLength);
  elements.negativePrompt.maxLength = Number(promptLength);
  const maxSide = Math.floor(Math.sqrt(limits?.maxPixels ?? DEFAULT_LIMITS.maxPixels));
  for (const option of Array.from(elements.workingSize.options)) option.disabled = Number(option.value) > maxSide;
}

/** Fills the model menu from the server's list, keeping the chosen model selected. */
export function setModelOptions(elements: PanelElements, models: readonly ModelSummary[], chosen: string): void {
  const document = elements.model.ownerDocument;
  elements.model.replaceChildren();
  const names = models.map((model) => model.name);
  for (const model of models) {
    elements.model.append(element(document, 'option', { value: model.name }, modelLabel(model)));
  }
  if (!names.includes(chosen)) {
    const label = models.length > 0 ? `${chosen} (not on this server)` : chosen;
    elements.model.prepend(element(document, 'option', { value: chosen }, label));
  }
  elements.model.value = chosen;
}

/** Labels computed from the form: slider values, the steps actually run, the seed field's state. */
export function refreshDerivedLabels(elements: PanelElements): void {
  const strength = elements.strength.valueAsNumber;
  const steps = elements.steps.valueAsNumber;
  elements.strengthValue.value = Number.isFinite(strength) ? strength.toFixed(2) : '';
  elements.mapGrowValue.value = `${elements.mapGrow.value} px`;
  elements.mapFeatherValue.value = `${elements.mapFeather.value} px`;
  const run = Number.isFinite(strength) && Number.isFinite(steps) ? Math.floor(steps * strength) : 0;
  elements.stepsHint.textContent = run === 0 ? 'runs 0 steps: nothing changes' : `runs ${run}`;
  elements.seed.disabled = elements.seedMode.value !== 'fixed';
  elements.seed.placeholder = elements.seed.disabled ? 'drawn per run' : '0';
}

/** Hints that depend on the chosen model: whether it reads prompts, its guidance default. */
export function describeModel(elements: PanelElements, model: ModelSummary | undefined): void {
  elements.guidance.placeholder = model ? `model default (${model.defaultGuidance})` : 'model default';
  const ignored = model !== undefined && !model.usesPrompt;
  elements.promptHint.textContent = ignored ? `${model.name} ignores prompts: it blends from the images alone.` : '';
  elements.promptSummary.textContent = ignored ? `ignored by ${model.name}` : 'optional';
  // Collapsed when it would do nothing; the designer can still open it.
  elements.promptSection.open = !ignored;
}
