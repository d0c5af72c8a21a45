/** Every element the panel script touches, looked up once by id from index.html. */
export function findElements(document: Document) {
  const byId = <T extends HTMLElement>(id: string, type: { new (): T; prototype: T }): T => {
    const element = document.getElementById(id);
    if (!(element instanceof type)) throw new Error(`The panel's HTML lacks a <${type.name}> with id "${id}".`);
    return element;
  };
  const win = document.defaultView!;
  return {
    serverSection: byId('server-section', win.HTMLDetailsElement),
    connectionStatus: byId('connection-status', win.HTMLElement),
    serverUrl: byId('server-url', win.HTMLInputElement),
    serverToken: byId('server-token', win.HTMLInputElement),
    connect: byId('connect', win.HTMLButtonElement),
    guide: byId('guide', win.HTMLElement),
    layerList: byId('layer-list', win.HTMLUListElement),
    selectionIssues: byId('selection-issues', win.HTMLUListElement),
    editControls: byId('edit-controls', win.HTMLFieldSetElement),
    mapSection: byId('map-section', win.HTMLElement),
    mapOrigin: byId('map-origin', win.HTMLElement),
    mapShapeControls: byId('map-shape-controls', win.HTMLElement),
    mapGrow: byId('map-grow', win.HTMLInputElement),
    mapGrowValue: byId('map-grow-value', win.HTMLOutputElement),
    mapFeather: byId('map-feather', win.HTMLInputElement),
    mapFeatherValue: byId('map-feather-value', win.HTMLOutputElement),
    mapFalloff: byId('map-falloff', win.HTMLSelectElement),
    mapInvertRow: byId('map-invert-row', win.HTMLElement),
    mapInvert: byId('map-invert', win.HTMLInputElement),
    mapPreview: byId('map-preview', win.HTMLCanvasElement),
    mapPreviewFrame: byId('map-preview-frame', win.HTMLElement),
    mapPreviewHint: byId('map-preview-hint', win.HTMLElement),
    previewExemplar: byId('preview-exemplar', win.HTMLInputElement),
    promptSection: byId('prompt-section', win.HTMLDetailsElement),
    promptSummary: byId('prompt-summary', win.HTMLElement),
    prompt: byId('prompt', win.HTMLTextAreaElement),
    negativePrompt: byId('negative-prompt', win.HTMLTextAreaElement),
    promptHint: byId('prompt-hint', win.HTMLElement),
    model: byId('model', win.HTMLSelectElement),
    strength: byId('strength', win.HTMLInputElement),
    strengthValue: byId('strength-value', win.HTMLOutputElement),
    steps: byId('steps', win.HTMLInputElement),
    stepsHint: byId('steps-hint', win.HTMLElement),
    guidance: byId('guidance', win.HTMLInputElement),
    advancedSection: byId('advanced-section', win.HTMLDetailsElement),
    threshold: byId('threshold', win.HTMLSelectElement),
    seedMode: byId('seed-mode', win.HTMLSelectElement),
    seed: byId('seed', win.HTMLInputElement),
    variations: byId('variations', win.HTMLInputElement),
    workingSize: byId('working-size', win.HTMLSelectElement),
    workingSizeHint: byId('working-size-hint', win.HTMLElement),
    pasteBack: byId('paste-back', win.HTMLInputElement),
    previews: byId('previews', win.HTMLInputElement),
    historySection: byId('history-section', win.HTMLDetailsElement),
    historyCount: byId('history-count', win.HTMLElement),
    historyList: byId('history-list', win.HTMLOListElement),
    blend: byId('blend', win.HTMLButtonElement),
    cancel: byId('cancel', win.HTMLButtonElement),
    statusLine: byId('status-line', win.HTMLElement),
    runProgress: byId('run-progress', win.HTMLElement),
    runProgressBar: byId('run-progress-bar', win.HTMLElement),
    problem: byId('problem', win.HTMLElement),
    problemMessage: byId('problem-message', win.HTMLElement),
    problemAdvice: byId('problem-advice', win.HTMLElement),
    problemAction: byId('problem-action', win.HTMLButtonElement),
    notes: byId('notes', win.HTMLUListElement),
  };
}

export type PanelElements = ReturnType<typeof findElements>;

/** Creates an element with text and attributes (text goes in as text, never as HTML). */
export function element<K extends keyof HTMLElementTagNameMap>(
  document: Document,
  tag: K,
  attributes: Record<string, string> = {},
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
  if (text !== undefined) node.textContent = text;
  return node;
}
