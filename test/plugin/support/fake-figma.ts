/**
 * A typed, in-repo fake of the parts of Figma's plugin API the main thread uses (FigmaSurface).
 * It keeps a small node tree with real coordinates, exports real PNGs (each layer painted as its
 * bounding box in one colour or image, with its visible children; a slice, everything visible on
 * the page inside its bounds), enforces Figma's rules that matter here
 * (4096 px image cap, layoutPositioning only inside auto-layout) and logs every document change
 * and undo commit so tests can check what one undo step would remove.
 */

import { readPngSize } from '@pixels/shared';
import type {
  AffineTransform,
  Box,
  FigmaSurface,
  PngExportSettings,
  ShowUiOptions,
  SurfaceNodeChange,
  SurfacePaint,
  SurfaceParent,
  SurfaceRectangle,
  SurfaceSlice,
} from '../../../plugin/src/main/figma-surface.ts';
import { createRaster, type Raster } from '../../../plugin/src/png/raster.ts';
import { decodePngNatively, encodePngNatively } from './native-png.ts';
import type { Rgba } from './test-images.ts';

export interface ExportCall {
  nodeId: string;
  scale: number;
  useAbsoluteBounds: boolean;
  /** Ids of the nodes that were hidden while this export ran. */
  hiddenDuringExport: string[];
  /** Milliseconds the fake spent drawing the pixels and encoding the PNG (set once the export ends). */
  renderMs?: number;
  encodeMs?: number;
}

export interface FakeNodeInit {
  name?: string;
  type?: string;
  x?: number;
  y?: number;
  width: number;
  height: number;
  /** Degrees, counter-clockwise like Figma. */
  rotation?: number;
  mirrored?: boolean;
  /** How far shadows or outside strokes reach beyond the bounds, in canvas units. */
  effectOutset?: number;
  paint?: Rgba;
  /** Pixels drawn over the layer's box instead of `paint` (nearest-neighbour scaled). */
  image?: Raster;
  fills?: SurfacePaint[];
  visible?: boolean;
}

let nextNodeNumber = 1;

export class FakeNode {
  readonly id: string;
  name: string;
  readonly type: string;
  parent: FakeContainer | null = null;
  removed = false;
  x: number;
  y: number;
  width: number;
  height: number;
  rotation: number;
  mirrored: boolean;
  effectOutset: number;
  paint: Rgba | undefined;
  image: Raster | undefined;
  /** Fills given or set; absent, the fill `paint` stands for is reported (see `fills`). */
  private paints: readonly SurfacePaint[] | symbol | undefined;
  private shown: boolean;
  private readonly pluginData = new Map<string, string>();

  constructor(
    readonly figma: FakeFigma,
    init: FakeNodeInit,
  ) {
    this.id = `${nextNodeNumber++}:1`;
    this.type = init.type ?? 'RECTANGLE';
    this.name = init.name ?? this.type.toLowerCase();
    this.x = init.x ?? 0;
    this.y = init.y ?? 0;
    this.width = init.width;
    this.height = init.height;
    this.rotation = init.rotation ?? 0;
    this.mirrored = init.mirrored ?? false;
    this.effectOutset = init.effectOutset ?? 0;
    this.paint = init.paint;
    this.image = init.image;
    this.paints = init.fills;
    this.shown = init.visible ?? true;
    figma.register(this);
  }

  get visible(): boolean {
    return this.shown;
  }

  /**
   * As Figma reports them: a layer drawn in `paint` has a solid fill unless its test gave fills.
   * A layer drawn from `image` reports only the fills its test gives (role tests choose whether
   * a layer reads as an image).
   */
  get fills(): readonly SurfacePaint[] | symbol {
    return this.paints ?? (this.paint ? [{ type: 'SOLID' }] : []);
  }

  /** A layer with `effectOutset` has an effect (a shadow, say); the fake draws no strokes. */
  get effects(): readonly SurfacePaint[] {
    return this.effectOutset > 0 ? [{ type: 'DROP_SHADOW' }] : [];
  }

  get strokes(): readonly SurfacePaint[] {
    return [];
  }

  set fills(fills: readonly SurfacePaint[] | symbol) {
    this.figma.log(`set ${this.id}.fills`);
    this.paints = fills;
  }

  set visible(value: boolean) {
    this.figma.log(`set ${this.id}.visible=${value}`);
    this.shown = value;
  }

  get relativeTransform(): AffineTransform {
    const radians = (this.rotation * Math.PI) / 180;
    const flip = this.mirrored ? -1 : 1;
    return [
      [Math.cos(radians) * flip, Math.sin(radians), this.x],
      [-Math.sin(radians) * flip, Math.cos(radians), this.y],
    ];
  }

  set relativeTransform(transform: AffineTransform) {
    this.figma.log(`set ${this.id}.relativeTransform`);
    this.x = transform[0][2];
    this.y = transform[1][2];
    this.rotation = Math.round((Math.atan2(-transform[1][0], transform[0][0]) * 180) / Math.PI);
    this.mirrored = transform[0][0] * transform[1][1] - transform[0][1] * transform[1][0] < 0;
  }

  /** The parent's origin on the canvas (containers in these tests are never rotated). */
  private parentOrigin(): { x: number; y: number } {
    const parent = this.parent;
    if (!parent || parent instanceof FakePage) return { x: 0, y: 0 };
    const origin = parent.absoluteTransform;
    return { x: origin[0][2], y: origin[1][2] };
  }

  get absoluteTransform(): AffineTransform {
    const [[a, b, x], [c, d, y]] = this.relativeTransform;
    const origin = this.parentOrigin();
    return [
      [a, b, x + origin.x],
      [c, d, y + origin.y],
    ];
  }

  get absoluteBoundingBox(): Box {
    const [[a, b, tx], [c, d, ty]] = this.absoluteTransform;
    const corners = [
      [0, 0],
      [this.width, 0],
      [0, this.height],
      [this.width, this.height],
    ].map(([px, py]) => [a * px + b * py + tx, c * px + d * py + ty]);
    const xs = corners.map(([x]) => x);
    const ys = corners.map(([, y]) => y);
    return {
      x: Math.min(...xs),
      y: Math.min(...ys),
      width: Math.max(...xs) - Math.min(...xs),
      height: Math.max(...ys) - Math.min(...ys),
    };
  }

  get absoluteRenderBounds(): Box {
    const box = this.absoluteBoundingBox;
    const outset = this.effectOutset;
    return { x: box.x - outset, y: box.y - outset, width: box.width + 2 * outset, height: box.height + 2 * outset };
  }

  getPluginData(key: string): string {
    return this.pluginData.get(key) ?? '';
  }

  setPluginData(key: string, value: string): void {
    this.figma.log(`set ${this.id}.pluginData[${key}]`);
    this.pluginData.set(key, value);
  }

  /** Renders the layer and its visible children as PNG: each layer is its bounding box in its paint. */
  async exportAsync(settings: PngExportSettings): Promise<Uint8Array> {
    return this.figma.exportArea(this, this.absoluteRenderBounds, [this], settings);
  }

  remove(): void {
    this.figma.log(`remove ${this.id}`);
    if (this.parent) {
      const siblings = childListOf(this.parent);
      siblings.splice(siblings.indexOf(this), 1);
    }
    this.parent = null;
    this.removed = true;
  }
}

/** A node with children (frames, components...). */
export class FakeContainer extends FakeNode implements SurfaceParent {
  readonly children: FakeNode[] = [];
  layoutMode: 'NONE' | 'HORIZONTAL' | 'VERTICAL' = 'NONE';

  constructor(figma: FakeFigma, init: FakeNodeInit & { layoutMode?: 'NONE' | 'HORIZONTAL' | 'VERTICAL' }) {
    super(figma, { type: 'FRAME', ...init });
    this.layoutMode = init.layoutMode ?? 'NONE';
  }

  insertChild(index: number, child: FakeNode): void {
    this.figma.log(`insert ${child.id} into ${this.id} at ${index}`);
    adopt(this, index, child);
  }

  appendChild(child: FakeNode): void {
    adopt(this, this.children.length, child);
  }
}

let nextPageNumber = 1;

/**
 * A page. With "documentAccess": "dynamic-page" (our manifest), Figma loads pages other than the
 * one the file opened on only when asked: a plugin must `await page.loadAsync()` (or
 * `figma.loadAllPagesAsync()`) before it reads a page's children or searches it, and each plugin
 * run asks again.
 */
export class FakePage implements SurfaceParent {
  readonly id = `0:${nextPageNumber++}`;
  readonly type = 'PAGE';
  readonly parent = null;
  /** The layers, for scene builders; the plugin goes through `children`, which needs the page loaded. */
  readonly contents: FakeNode[] = [];
  loaded: boolean;
  private selected: FakeNode[] = [];

  constructor(
    private readonly figma: FakeFigma,
    readonly name = 'Page 1',
    loaded = true,
  ) {
    this.loaded = loaded;
  }

  get children(): readonly FakeNode[] {
    this.requireLoaded('children');
    return this.contents;
  }

  async loadAsync(): Promise<void> {
    this.loaded = true;
  }

  private requireLoaded(what: string): void {
    if (!this.loaded) {
      throw new Error(
        `in ${what}: Cannot access children on a page that has not been explored. Call \`await page.loadAsync()\` to access this node's children.`,
      );
    }
  }

  get selection(): readonly FakeNode[] {
    return this.selected.filter((node) => !node.removed);
  }

  /** Like Figma, a new selection fires `selectionchange`. */
  set selection(nodes: readonly FakeNode[]) {
    this.selected = [...nodes];
    this.figma.fire('selectionchange');
  }

  insertChild(index: number, child: FakeNode): void {
    this.figma.log(`insert ${child.id} into page at ${index}`);
    adopt(this, index, child);
  }

  private readonly nodeChangeListeners: Array<(event: { nodeChanges: readonly SurfaceNodeChange[] }) => void> = [];

  on(_type: 'nodechange', callback: (event: { nodeChanges: readonly SurfaceNodeChange[] }) => void): void {
    this.nodeChangeListeners.push(callback);
  }

  /** What Figma does after the designer edits layers on this page. */
  fireNodeChange(nodeChanges: SurfaceNodeChange[]): void {
    for (const listener of this.nodeChangeListeners) listener({ nodeChanges });
  }

  /** Figma's indexed search; only the plugin-data criterion is used by the plugin. */
  findAllWithCriteria(criteria: { pluginData: { keys: string[] } }): FakeNode[] {
    this.requireLoaded('findAllWithCriteria');
    const found: FakeNode[] = [];
    const visit = (nodes: readonly FakeNode[]) => {
      for (const node of nodes) {
        if (criteria.pluginData.keys.every((key) => node.getPluginData(key) !== '')) found.push(node);
        if (node instanceof FakeContainer) visit(node.children);
      }
    };
    visit(this.contents);
    return found;
  }

  appendChild(child: FakeNode): void {
    adopt(this, this.contents.length, child);
  }
}

function childListOf(parent: FakeContainer | FakePage): FakeNode[] {
  return parent instanceof FakePage ? parent.contents : parent.children;
}

function adopt(parent: FakeContainer | FakePage, index: number, child: FakeNode): void {
  if (child.parent) {
    const siblings = childListOf(child.parent);
    siblings.splice(siblings.indexOf(child), 1);
  }
  childListOf(parent).splice(index, 0, child);
  child.parent = parent as FakeContainer;
}

/**
 * Figma's SliceNode: a box on the canvas whose export is everything visible inside it, whatever
 * layer it belongs to (a slice has no content of its own), so the fake renders the page's visible
 * layers, back to front, over the slice's bounds.
 */
export class FakeSlice extends FakeNode implements SurfaceSlice {
  constructor(figma: FakeFigma) {
    super(figma, { type: 'SLICE', name: 'Slice', width: 100, height: 100 });
  }

  resize(width: number, height: number): void {
    this.figma.log(`resize ${this.id}`);
    this.width = width;
    this.height = height;
  }

  override async exportAsync(settings: PngExportSettings): Promise<Uint8Array> {
    const page = this.figma.pageOf(this);
    if (!page) throw new Error('in exportAsync: The node (a slice) has been removed.');
    return this.figma.exportArea(this, this.absoluteBoundingBox, page.contents, settings);
  }
}

export class FakeRectangle extends FakeNode implements SurfaceRectangle {
  private positioning: 'AUTO' | 'ABSOLUTE' = 'AUTO';
  relaunchData: { [command: string]: string } = {};

  get layoutPositioning(): 'AUTO' | 'ABSOLUTE' {
    return this.positioning;
  }

  set layoutPositioning(value: 'AUTO' | 'ABSOLUTE') {
    const parent = this.parent;
    if (!(parent instanceof FakeContainer) || parent.layoutMode === 'NONE') {
      throw new Error('in set_layoutPositioning: Can only set layoutPositioning on children of auto-layout frames');
    }
    this.figma.log(`set ${this.id}.layoutPositioning=${value}`);
    this.positioning = value;
  }

  resize(width: number, height: number): void {
    this.figma.log(`resize ${this.id}`);
    this.width = width;
    this.height = height;
  }

  setRelaunchData(data: { [command: string]: string }): void {
    this.figma.log(`set ${this.id}.relaunchData`);
    this.relaunchData = { ...data };
  }
}

/** Figma's clientStorage: values are structured-cloned, like Figma does. */
class FakeClientStorage {
  readonly values = new Map<string, unknown>();

  async getAsync(key: string): Promise<unknown> {
    return structuredClone(this.values.get(key));
  }

  async setAsync(key: string, value: unknown): Promise<void> {
    this.values.set(key, structuredClone(value));
  }

  async deleteAsync(key: string): Promise<void> {
    this.values.delete(key);
  }
}

export class FakeFigma implements FigmaSurface {
  command = '';
  /** Every page of the file, in order; the file opens on the first. */
  readonly pages: FakePage[];
  private shownPage: FakePage;
  readonly clientStorage = new FakeClientStorage();
  readonly images = new Map<string, Uint8Array>();
  readonly exports: ExportCall[] = [];
  /** Node id → error message its export throws. */
  readonly exportFailures = new Map<string, string>();
  readonly notifications: Array<{ message: string; error: boolean }> = [];
  /** Every document change, plus 'commit' for each undo commit. */
  readonly changes: string[] = [];
  readonly sentToUi: unknown[] = [];
  shownUi: { html: string; options: ShowUiOptions } | undefined;
  /** Called with every message the main thread posts to the panel (a browser harness forwards them). */
  uiListener: ((message: unknown) => void) | undefined;
  readonly ui = {
    postMessage: (message: unknown) => {
      this.sentToUi.push(structuredClone(message));
      this.uiListener?.(message);
    },
    onmessage: undefined as ((message: unknown, properties: { origin: string }) => void) | undefined,
  };
  private readonly rootData = new Map<string, string>();
  readonly root = {
    type: 'DOCUMENT' as const,
    children: [] as readonly FakePage[],
    getPluginData: (key: string) => this.rootData.get(key) ?? '',
    setPluginData: (key: string, value: string) => {
      this.rootData.set(key, value);
    },
  };
  private readonly nodes = new Map<string, FakeNode>();
  private readonly handlers = new Map<string, Array<() => void>>();
  /** Every scrollAndZoomIntoView call, by node ids. */
  readonly zoomedTo: string[][] = [];
  readonly viewport = {
    scrollAndZoomIntoView: (nodes: readonly { id: string }[]) => {
      this.zoomedTo.push(nodes.map((node) => node.id));
    },
  };

  /** Gives layers with an image fill (placed results) their pixels, so exports show them. */
  async decodeImageFills(): Promise<void> {
    for (const node of this.allNodes()) {
      const fills = node.fills;
      if (node.image || !Array.isArray(fills)) continue;
      const hash = (fills as Array<{ type: string; imageHash?: string }>).find(
        (fill) => fill.type === 'IMAGE',
      )?.imageHash;
      const bytes = hash ? this.images.get(hash) : undefined;
      if (bytes) node.image = await decodePngNatively(bytes);
    }
  }

  constructor() {
    this.pages = [new FakePage(this)];
    this.root.children = this.pages;
    this.shownPage = this.pages[0];
  }

  /** The page the designer is on. Read-only under dynamic-page access, as in Figma. */
  get currentPage(): FakePage {
    return this.shownPage;
  }

  set currentPage(_page: FakePage) {
    throw new Error(
      'Setting figma.currentPage is not supported with "documentAccess": "dynamic-page". Use figma.setCurrentPageAsync instead.',
    );
  }

  /** Figma's way to switch pages under dynamic-page access: loads the page, then fires `currentpagechange`. */
  async setCurrentPageAsync(page: FakePage): Promise<void> {
    if (!this.pages.includes(page)) throw new Error('in setCurrentPageAsync: The node is not a page of this document.');
    await page.loadAsync();
    this.log(`show page ${page.id}`);
    this.shownPage = page;
    this.fire('currentpagechange');
  }

  /** Loads every page, so that searches over the whole document may run. */
  async loadAllPagesAsync(): Promise<void> {
    for (const page of this.pages) await page.loadAsync();
  }

  /** Builder: a page after the others, not yet loaded (the file opened elsewhere). */
  page(name: string): FakePage {
    const page = new FakePage(this, name, false);
    this.pages.push(page);
    return page;
  }

  /**
   * What a new plugin run sees: only the page the designer is on is loaded; every other page
   * must be loaded again by the plugin (dynamic-page access is per run).
   */
  startNewRun(): void {
    for (const page of this.pages) page.loaded = page === this.shownPage;
  }

  register(node: FakeNode): void {
    this.nodes.set(node.id, node);
  }

  allNodes(): FakeNode[] {
    return [...this.nodes.values()].filter((node) => !node.removed);
  }

  log(change: string): void {
    this.changes.push(change);
  }

  fire(type: string): void {
    for (const handler of this.handlers.get(type) ?? []) handler();
  }

  /** Messages sent to the panel of one type. */
  messagesOfType(type: string): unknown[] {
    return this.sentToUi.filter((message) => (message as { type?: string }).type === type);
  }

  showUI(html: string, options: ShowUiOptions): void {
    this.shownUi = { html, options };
  }

  createImage(bytes: Uint8Array): { hash: string } {
    const { width, height } = readPngSize(bytes);
    if (width > 4096 || height > 4096) throw new Error('Image is too large');
    const hash = `image-${this.images.size + 1}`;
    this.images.set(hash, bytes);
    this.log(`create image ${hash}`);
    return { hash };
  }

  /** Figma's createSlice: a new slice on the current page. */
  createSlice(): FakeSlice {
    const slice = new FakeSlice(this);
    this.log(`create ${slice.id}`);
    this.currentPage.appendChild(slice);
    return slice;
  }

  /** The page a node lies on, or null once it is removed. */
  pageOf(node: FakeNode): FakePage | null {
    let parent: FakeContainer | FakePage | null = node.parent;
    while (parent && !(parent instanceof FakePage)) parent = parent.parent;
    return node.removed ? null : parent;
  }

  /**
   * Renders `area` (canvas units) at the export's scale as PNG, painting `roots` and their visible
   * children back to front, each layer as its bounding box in its paint or image; logs the call.
   */
  async exportArea(
    exported: FakeNode,
    area: Box,
    roots: readonly FakeNode[],
    settings: PngExportSettings,
  ): Promise<Uint8Array> {
    const failure = this.exportFailures.get(exported.id);
    const call: ExportCall = {
      nodeId: exported.id,
      scale: settings.constraint.value,
      useAbsoluteBounds: settings.useAbsoluteBounds,
      hiddenDuringExport: this.allNodes()
        .filter((node) => !node.visible)
        .map((node) => node.id),
    };
    this.exports.push(call);
    if (failure) throw new Error(failure);
    await this.decodeImageFills();
    const renderStart = performance.now();
    const scale = settings.constraint.value;
    const width = Math.max(1, Math.round(area.width * scale));
    const height = Math.max(1, Math.round(area.height * scale));
    const raster = createRaster(width, height, 4);
    const target = new Uint32Array(raster.data.buffer, raster.data.byteOffset, width * height);
    const paintNode = (node: FakeNode) => {
      if (!node.visible) return;
      const box = node.absoluteBoundingBox;
      // Edges in whole pixels of the export: an area offset by whole pixels gives the same pixels, offset.
      const left = Math.round((box.x - area.x) * scale);
      const top = Math.round((box.y - area.y) * scale);
      const right = Math.round((box.x + box.width - area.x) * scale);
      const bottom = Math.round((box.y + box.height - area.y) * scale);
      const x0 = Math.max(0, left);
      const x1 = Math.min(width, right);
      const image = node.image;
      // Nearest-neighbour sampling (multiplied before dividing, so a layer at its image's size is
      // its image exactly) with the source column of each x worked out once, and whole
      // RGBA pixels moved as 32-bit words: the fake stands in for Figma's native renderer, so its
      // per-pixel cost should not be charged to the plugin's export time.
      const columns = new Int32Array(Math.max(0, x1 - x0));
      if (image)
        for (let x = x0; x < x1; x++)
          columns[x - x0] = Math.min(image.width - 1, Math.floor(((x - left) * image.width) / (right - left)));
      const bytes = image && (image.data.byteOffset % 4 === 0 ? image.data : image.data.slice());
      const pixels =
        image && bytes ? new Uint32Array(bytes.buffer, bytes.byteOffset, image.width * image.height) : null;
      for (let y = Math.max(0, top); y < Math.min(height, bottom); y++) {
        if (image && pixels) {
          const v = Math.min(image.height - 1, Math.floor(((y - top) * image.height) / (bottom - top)));
          const from = v * image.width;
          const to = y * width;
          for (let x = x0; x < x1; x++) {
            const word = pixels[from + columns[x - x0]];
            // Alpha is the top byte of a little-endian RGBA word.
            if (word >>> 24 > 0) target[to + x] = word;
          }
        } else if (node.paint) for (let x = x0; x < x1; x++) raster.data.set(node.paint, (y * width + x) * 4);
      }
      if (node instanceof FakeContainer) for (const child of node.children) paintNode(child);
    };
    for (const root of roots) paintNode(root);
    const encodeStart = performance.now();
    call.renderMs = encodeStart - renderStart;
    const png = await encodePngNatively(raster);
    call.encodeMs = performance.now() - encodeStart;
    return png;
  }

  createRectangle(): FakeRectangle {
    const rectangle = new FakeRectangle(this, { width: 100, height: 100 });
    this.log(`create ${rectangle.id}`);
    this.currentPage.appendChild(rectangle);
    return rectangle;
  }

  async getNodeByIdAsync(id: string): Promise<FakeNode | null> {
    const node = this.nodes.get(id);
    return node && !node.removed ? node : null;
  }

  on(type: 'selectionchange' | 'currentpagechange' | 'close', callback: () => void): void {
    this.handlers.set(type, [...(this.handlers.get(type) ?? []), callback]);
  }

  notify(message: string, options?: { error?: boolean }): void {
    this.notifications.push({ message, error: options?.error ?? false });
  }

  commitUndo(): void {
    this.changes.push('commit');
  }

  closePlugin(): void {}

  /** Builders for test scenes. */
  frame(
    init: FakeNodeInit & { layoutMode?: 'NONE' | 'HORIZONTAL' | 'VERTICAL' },
    parent: FakeContainer | FakePage = this.currentPage,
  ): FakeContainer {
    const frame = new FakeContainer(this, init);
    parent.appendChild(frame);
    return frame;
  }

  layer(init: FakeNodeInit, parent: FakeContainer | FakePage = this.currentPage): FakeNode {
    const node = new FakeNode(this, init);
    parent.appendChild(node);
    return node;
  }
}
