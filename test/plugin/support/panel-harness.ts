/**
 * Runs the built panel (dist/ui.html) the way Figma does: inside a sandboxed iframe (origin
 * "null") in real Chromium, talking through window.postMessage to a host page. The host page
 * forwards every message to the real main-thread code (PluginController) running in Node against
 * the typed Figma fake, so the whole plugin runs; only Figma itself is simulated. Image bytes
 * cross between Node and the page as binary HTTP bodies on loopback (Figma's postMessage clones a
 * Uint8Array; base64 through the browser protocol would charge the plugin a cost Figma does not have).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Frame, Page } from 'playwright-core';
import { type PluginController, startPlugin } from '../../../plugin/src/main/plugin-controller.ts';
import type { FakeFigma } from './fake-figma.ts';

const HOST_PAGE = `<!doctype html>
<html><head><meta charset="utf-8"><title>Figma stand-in</title></head>
<body style="margin:0">
<iframe id="plugin" sandbox="allow-scripts" src="/ui.html" width="340" height="720" style="border:0;display:block"></iframe>
<script>
  const frame = document.getElementById('plugin');
  const clock = () => performance.timeOrigin + performance.now();
  // To the panel, bytes travel as binary HTTP bodies on loopback; the messages carry their ids.
  const walk = async (value, bytes) => bytes(value) ?? (Array.isArray(value) ? Promise.all(value.map((v) => walk(v, bytes)))
    : value && typeof value === 'object' ? Object.fromEntries(await Promise.all(Object.entries(value).map(async ([k, v]) => [k, await walk(v, bytes)]))) : value);
  const fetched = (value) => value && typeof value === 'object' && '__bytes' in value
    ? fetch('/bytes/' + value.__bytes).then((response) => response.arrayBuffer()).then((buffer) => new Uint8Array(buffer)) : undefined;
  window.toUi = async (encoded) => {
    frame.contentWindow.postMessage({ pluginMessage: await walk(encoded, fetched) }, '*');
    return clock();
  };
  // One request per message to the main thread: its JSON, then the bytes it carries, in one body.
  const channel = new URLSearchParams(location.search).get('channel');
  const pack = (message) => {
    const parts = [];
    let offset = 0;
    const strip = (value) => value instanceof Uint8Array ? (parts.push(value), offset += value.length, { __bytes: [offset - value.length, value.length] })
      : Array.isArray(value) ? value.map(strip)
      : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, strip(v)])) : value;
    const json = new TextEncoder().encode(JSON.stringify(strip(message)));
    const body = new Uint8Array(4 + json.length + offset);
    new DataView(body.buffer).setUint32(0, json.length);
    body.set(json, 4);
    let at = 4 + json.length;
    for (const part of parts) { body.set(part, at); at += part.length; }
    return body;
  };
  let outgoing = Promise.resolve();
  window.addEventListener('message', (event) => {
    if (event.source !== frame.contentWindow || !event.data || !('pluginMessage' in event.data)) return;
    const sentAt = clock();
    const body = pack(event.data.pluginMessage);
    outgoing = outgoing.then(() => fetch('/to-main/' + channel + '?sentAt=' + sentAt, { method: 'POST', body })).catch(() => undefined);
  });
</script>
</body></html>`;

type Encoded = unknown;

/** Milliseconds since the epoch at sub-millisecond resolution, comparable with the page's own clock. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One message between the main thread and the panel, timed from its sender (the main thread's
 * postMessage, or the panel's message reaching the host page) to its delivery (posted into the
 * panel's frame, or handed to the main thread), image bytes included.
 */
export interface MessageHop {
  direction: 'to-ui' | 'to-main';
  type: string;
  /** Image bytes the message carried. */
  bytes: number;
  sentAt: number;
  deliveredAt: number;
  message: unknown;
}

/** Replaces every Uint8Array in `value` with an id under which `store` keeps the bytes. */
function encode(value: unknown, store: (bytes: Uint8Array) => string): Encoded {
  if (value instanceof Uint8Array) return { __bytes: store(value) };
  if (Array.isArray(value)) return value.map((inner) => encode(inner, store));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encode(inner, store)]));
  return value;
}

/** One message body from the host page: a 4-byte JSON length, the JSON, then the bytes it names by offset. */
function unpack(body: Uint8Array): unknown {
  const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  const bytes = body.subarray(4 + length);
  const restore = (value: unknown): unknown => {
    if (value && typeof value === 'object' && '__bytes' in value) {
      const [offset, size] = value.__bytes as [number, number];
      return bytes.slice(offset, offset + size);
    }
    if (Array.isArray(value)) return value.map(restore);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, restore(inner)]));
    return value;
  };
  return restore(JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + length))));
}

function byteCount(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  if (value && typeof value === 'object')
    return Object.values(value).reduce((sum: number, inner) => sum + byteCount(inner), 0);
  return 0;
}

/** Serves the host page, the built ui.html and the bytes in transit on loopback. */
export class PanelHost {
  private server: Server | undefined;
  private readonly inTransit = new Map<string, Uint8Array>();
  /** Per open panel: what to do with one message body the host page posts for the main thread. */
  private readonly channels = new Map<string, (body: Uint8Array, sentAt: number) => void>();
  private nextBytes = 0;
  private nextChannel = 0;
  url = '';

  constructor(private readonly uiHtml: string) {}

  private store = (bytes: Uint8Array): string => {
    const id = String(++this.nextBytes);
    this.inTransit.set(id, bytes);
    return id;
  };

  private take = (id: string): Uint8Array => {
    const bytes = this.inTransit.get(id);
    if (!bytes) throw new Error(`The harness holds no bytes under id ${id}.`);
    this.inTransit.delete(id);
    return bytes;
  };

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const url = request.url ?? '';
      if (url === '/ui.html') response.writeHead(200, { 'Content-Type': 'text/html' }).end(this.uiHtml);
      else if (url === '/' || url.startsWith('/?'))
        response.writeHead(200, { 'Content-Type': 'text/html' }).end(HOST_PAGE);
      else if (url.startsWith('/bytes/') && request.method === 'GET') {
        const bytes = this.inTransit.get(url.slice('/bytes/'.length));
        if (!bytes) response.writeHead(404).end();
        else {
          this.take(url.slice('/bytes/'.length));
          response.writeHead(200, { 'Content-Type': 'application/octet-stream' }).end(bytes);
        }
      } else if (url.startsWith('/to-main/') && request.method === 'POST') {
        const { pathname, searchParams } = new URL(url, 'http://host');
        const deliver = this.channels.get(pathname.slice('/to-main/'.length));
        const chunks: Buffer[] = [];
        request.on('data', (chunk: Buffer) => chunks.push(chunk));
        request.on('end', () => {
          const body = Buffer.concat(chunks);
          deliver?.(new Uint8Array(body.buffer, body.byteOffset, body.byteLength), Number(searchParams.get('sentAt')));
          response.writeHead(deliver ? 204 : 404).end();
        });
      } else response.writeHead(404).end();
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://localhost:${(this.server.address() as AddressInfo).port}/`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  /** Opens the plugin: starts the main thread on `figma` and loads the panel in a new page. */
  async open(context: BrowserContext, figma: FakeFigma): Promise<OpenPanel> {
    const page = await context.newPage();
    const controller = await startPlugin(figma, this.uiHtml);
    const fromUi: unknown[] = [];
    const hops: MessageHop[] = [];
    let delivery = Promise.resolve();
    figma.uiListener = (message) => {
      const sentAt = clock();
      const encoded = encode(message, this.store);
      const hop = { direction: 'to-ui' as const, type: (message as { type: string }).type, bytes: byteCount(message) };
      delivery = delivery
        .then(() =>
          page.evaluate((data) => (window as unknown as { toUi(data: unknown): Promise<number> }).toUi(data), encoded),
        )
        .then((deliveredAt) => void hops.push({ ...hop, sentAt, deliveredAt, message }))
        .catch(() => undefined);
    };
    const channel = String(++this.nextChannel);
    this.channels.set(channel, (body, sentAt) => {
      const message = unpack(body);
      const type = (message as { type: string }).type;
      hops.push({ direction: 'to-main', type, bytes: byteCount(message), sentAt, deliveredAt: clock(), message });
      fromUi.push(message);
      void controller.receive(message);
    });
    page.once('close', () => this.channels.delete(channel));
    await page.goto(`${this.url}?channel=${channel}`);
    const frame = await waitForPanelFrame(page);
    return { page, frame, controller, fromUi, hops };
  }
}

export interface OpenPanel {
  page: Page;
  /** The panel's own frame (sandboxed, origin "null"). */
  frame: Frame;
  controller: PluginController;
  /** Every message the panel sent to the main thread, decoded. */
  fromUi: unknown[];
  /** Every message each way, timed (see MessageHop). */
  hops: MessageHop[];
}

async function waitForPanelFrame(page: Page): Promise<Frame> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const frame = page.frames().find((candidate) => candidate.url().endsWith('/ui.html'));
    if (frame) {
      await frame.waitForSelector('#blend');
      return frame;
    }
    await page.waitForTimeout(50);
  }
  throw new Error('The panel iframe did not load.');
}
