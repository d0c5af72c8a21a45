/**
 * The part of Figma's plugin API the main thread uses, as plain structural types. The real `figma`
 * object satisfies it (checked where the plugin starts, in code.ts) and the typed fake in
 * test/plugin/support implements it, so every main-thread module runs unchanged against both.
 */

import type { Box } from '../common/box.ts';

export type { Box };

/** A 2x3 affine matrix, rows first (Figma's `Transform`). */
export type AffineTransform = [[number, number, number], [number, number, number]];

export interface PngExportSettings {
  readonly format: 'PNG';
  readonly constraint: { readonly type: 'SCALE'; readonly value: number };
  /** Export the whole node even where a parent clips it. */
  readonly useAbsoluteBounds: boolean;
}

export interface SurfacePaint {
  readonly type: string;
}

export interface ImageFill {
  readonly type: 'IMAGE';
  readonly imageHash: string;
  readonly scaleMode: 'FILL';
}

/** Any layer the designer can select. */
export interface SurfaceNode {
  readonly id: string;
  name: string;
  readonly type: string;
  visible: boolean;
  readonly removed: boolean;
  readonly parent: SurfaceParent | null;
  readonly width: number;
  readonly height: number;
  /** Null for nodes that are not rendered (for example an empty group). */
  readonly absoluteBoundingBox: Box | null;
  /** Bounds including shadows, blurs and outside strokes; null when nothing renders, absent on stickies. */
  readonly absoluteRenderBounds?: Box | null;
  readonly absoluteTransform: AffineTransform;
  readonly relativeTransform: AffineTransform;
  /** Absent on layers without fills (groups); a symbol when mixed. */
  readonly fills?: readonly SurfacePaint[] | symbol;
  exportAsync(settings: PngExportSettings): Promise<Uint8Array>;
  getPluginData(key: string): string;
  setPluginData(key: string, value: string): void;
  remove(): void;
}

/** A paint or effect as far as the plugin reads it: whether it is drawn at all. */
export interface SurfaceLayerStyle {
  readonly type: string;
  readonly visible?: boolean;
}

/** A node that holds children: a page, frame, group, section... */
export interface SurfaceParent {
  readonly id: string;
  readonly type: string;
  readonly parent: SurfaceParent | null;
  /** Absent on pages (and on the document). */
  readonly absoluteBoundingBox?: Box | null;
  /** What the container paints itself, under or over its children (absent on pages and groups). */
  readonly fills?: readonly SurfaceLayerStyle[] | symbol;
  readonly strokes?: readonly SurfaceLayerStyle[] | symbol;
  readonly effects?: readonly SurfaceLayerStyle[] | symbol;
  /** Back to front: the last child paints on top. */
  readonly children: readonly SurfaceNode[];
  insertChild(index: number, child: SurfaceNode): void;
  /** Present on frames: anything but 'NONE' means auto-layout positions the children. */
  readonly layoutMode?: string;
}

/** What the result layer needs beyond any node. */
export interface SurfaceRectangle extends SurfaceNode {
  fills: readonly SurfacePaint[] | symbol;
  relativeTransform: AffineTransform;
  layoutPositioning: 'AUTO' | 'ABSOLUTE';
  resize(width: number, height: number): void;
  setRelaunchData(data: { [command: string]: string }): void;
}

/**
 * Figma's SliceNode: a box on the canvas whose export is everything visible inside it, from any
 * layer. Created on the current page, so `x` and `y` are canvas coordinates.
 */
export interface SurfaceSlice {
  readonly id: string;
  name: string;
  x: number;
  y: number;
  resize(width: number, height: number): void;
  exportAsync(settings: PngExportSettings): Promise<Uint8Array>;
  remove(): void;
}

/** One entry of Figma's NodeChangeEvent. */
export interface SurfaceNodeChange {
  readonly id: string;
  readonly type: 'CREATE' | 'DELETE' | 'PROPERTY_CHANGE';
  /** For PROPERTY_CHANGE: which properties changed. */
  readonly properties?: readonly string[];
}

export interface SurfaceClientStorage {
  getAsync(key: string): Promise<unknown>;
  setAsync(key: string, value: unknown): Promise<void>;
  deleteAsync(key: string): Promise<void>;
}

export interface SurfaceUi {
  postMessage(message: unknown): void;
  /** Figma passes the message and where it came from. */
  onmessage: ((message: unknown, properties: { origin: string }) => void) | undefined;
}

export interface ShowUiOptions {
  width: number;
  height: number;
  title: string;
  themeColors: boolean;
}

/**
 * A page of the file. Under "documentAccess": "dynamic-page" (manifest.json) a page other than the
 * current one must be loaded (`loadAsync`, or `FigmaSurface.loadAllPagesAsync`) before it is searched.
 */
export interface SurfacePage {
  readonly id: string;
  readonly name: string;
  readonly type: string;
  selection: readonly SurfaceNode[];
  /** Figma's indexed search: fast even on large pages. */
  findAllWithCriteria(criteria: { pluginData: { keys: string[] } }): readonly SurfaceNode[];
  /** Layers of this page added, removed or changed (moved, resized, repainted...). */
  on(type: 'nodechange', callback: (event: { nodeChanges: readonly SurfaceNodeChange[] }) => void): void;
  loadAsync(): Promise<void>;
}

export interface FigmaSurface {
  /** The relaunch button or menu command the plugin was started with ('' for a plain launch). */
  readonly command: string;
  /** Read-only under dynamic-page access: switch pages with `setCurrentPageAsync`. */
  readonly currentPage: SurfacePage;
  /** Loads the page, makes it the designer's current page and fires `currentpagechange`. */
  setCurrentPageAsync(page: SurfacePage): Promise<void>;
  /** Loads every page of the file (once per run is enough), so all of them may be searched. */
  loadAllPagesAsync(): Promise<void>;
  /** Takes layers from the current page (typed loosely: Figma's own type is its whole node union). */
  readonly viewport: { scrollAndZoomIntoView(nodes: readonly object[]): void };
  /** The document: its pages, and plugin data shared by everyone who opens the file. */
  readonly root: {
    readonly children: readonly SurfacePage[];
    getPluginData(key: string): string;
    setPluginData(key: string, value: string): void;
  };
  readonly ui: SurfaceUi;
  readonly clientStorage: SurfaceClientStorage;
  showUI(html: string, options: ShowUiOptions): void;
  createImage(bytes: Uint8Array): { readonly hash: string };
  createRectangle(): SurfaceRectangle;
  /** A new slice on the current page (exports a region of the canvas; remove it after). */
  createSlice(): SurfaceSlice;
  /** Resolves to any node type; narrow it with `isSurfaceNode`. */
  getNodeByIdAsync(id: string): Promise<object | null>;
  on(type: 'selectionchange' | 'currentpagechange' | 'close', callback: () => void): void;
  notify(message: string, options?: { error?: boolean; timeout?: number }): unknown;
  /** Seals the changes made so far into one undo step. */
  commitUndo(): void;
  closePlugin(message?: string): void;
}

/** Whether a node from `getNodeByIdAsync` is a layer that can be exported and placed against. */
export function isSurfaceNode(node: object | null): node is SurfaceNode {
  return node !== null && 'exportAsync' in node && 'absoluteTransform' in node && 'parent' in node;
}
