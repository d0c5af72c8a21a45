/**
 * Runs the built panel (dist/ui.html) the way Figma does: inside a sandboxed iframe (origin
 * "null") in real Chromium, talking through window.postMessage to a host page. The host page
 * forwards every message to the real main-thread code (PluginController) running in Node against
 * the typed Figma fake, so the whole plugin runs; only Figma itself is simulated. Messages cross
 * between Node and the page as binary frames on loopback HTTP (a JSON part, then the image bytes
 * it carries): one POST per message to the main thread, one long-lived response streaming the
 * messages to the panel. Figma's postMessage clones a Uint8Array; base64 through the browser's
 * protocol would charge the plugin a cost Figma does not have.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
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
  const channel = new URLSearchParams(location.search).get('channel');
  // A frame: a 4-byte JSON length, the JSON (each Uint8Array replaced by its offset and length), the bytes.
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
  const unpack = (body) => {
    const length = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
    const bytes = body.subarray(4 + length);
    const restore = (value) => value && typeof value === 'object' && '__bytes' in value ? bytes.slice(value.__bytes[0], value.__bytes[0] + value.__bytes[1])
      : Array.isArray(value) ? value.map(restore)
      : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, restore(v)])) : value;
    return restore(JSON.parse(new TextDecoder().decode(body.subarray(4, 4 + length))));
  };
  // To the panel: frames, each after its own 4-byte length, on one streamed response.
  (async () => {
    const reader = (await fetch('/to-ui/' + channel)).body.getReader();
    let pending = new Uint8Array(0);
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      const joined = new Uint8Array(pending.length + value.length);
      joined.set(pending);
      joined.set(value, pending.length);
      pending = joined;
      while (pending.length >= 4) {
        const size = new DataView(pending.buffer, pending.byteOffset).getUint32(0);
        if (pending.length < 4 + size) break;
        const { seq, message } = unpack(pending.subarray(4, 4 + size));
        pending = pending.slice(4 + size);
        frame.contentWindow.postMessage({ pluginMessage: message }, '*');
        fetch('/delivered/' + channel + '?seq=' + seq + '&at=' + clock(), { method: 'POST' }).catch(() => undefined);
      }
    }
  })();
  // To the main thread: one request per message, in order.
  let outgoing = Promise.resolve();
  window.addEventListener('message', (event) => {
    if (event.source !== frame.contentWindow || !event.data || !('pluginMessage' in event.data)) return;
    const sentAt = clock();
    const body = pack(event.data.pluginMessage);
    outgoing = outgoing.then(() => fetch('/to-main/' + channel + '?sentAt=' + sentAt, { method: 'POST', body })).catch(() => undefined);
  });
</script>
</body></html>`;

/** Milliseconds since the epoch at sub-millisecond resolution, comparable with the page's own clock. */
function clock(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * One message between the main thread and the panel, timed from its sender (the main thread's
 * postMessage, or the panel's message reaching the host page) to its delivery (posted into the
 * panel's frame, or handed to the main thread), image bytes included. `deliveredAt` of a message
 * to the panel is NaN until the page has said it was posted.
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

/** A frame as the host page's `pack` writes it: a 4-byte JSON length, the JSON, then the bytes it names. */
function pack(message: unknown): Buffer {
  const parts: Uint8Array[] = [];
  let offset = 0;
  const strip = (value: unknown): unknown => {
    if (value instanceof Uint8Array) {
      parts.push(value);
      offset += value.length;
      return { __bytes: [offset - value.length, value.length] };
    }
    if (Array.isArray(value)) return value.map(strip);
    if (value && typeof value === 'object')
      return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, strip(inner)]));
    return value;
  };
  const json = Buffer.from(JSON.stringify(strip(message)));
  const length = Buffer.alloc(4);
  length.writeUInt32BE(json.length);
  return Buffer.concat([length, json, ...parts]);
}

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

/** One open panel's two directions on the harness's server. */
interface Channel {
  toMain(body: Uint8Array, sentAt: number): void;
  delivered(seq: number, at: number): void;
  /** The streamed response the page reads messages from, once it asked; frames wait for it. */
  stream?: ServerResponse;
  waiting: Buffer[];
}

function readBody(request: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks);
      resolve(new Uint8Array(body.buffer, body.byteOffset, body.byteLength));
    });
    request.on('error', reject);
  });
}

/** Serves the host page, the built ui.html and every panel's message channel on loopback. */
export class PanelHost {
  private server: Server | undefined;
  private readonly channels = new Map<string, Channel>();
  private nextChannel = 0;
  url = '';

  constructor(private readonly uiHtml: string) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const { pathname, searchParams } = new URL(request.url ?? '/', 'http://harness');
      const [, route, id] = pathname.split('/');
      const channel = id === undefined ? undefined : this.channels.get(id);
      if (pathname === '/ui.html') response.writeHead(200, { 'Content-Type': 'text/html' }).end(this.uiHtml);
      else if (pathname === '/') response.writeHead(200, { 'Content-Type': 'text/html' }).end(HOST_PAGE);
      else if (!channel) response.writeHead(404).end();
      else if (route === 'to-ui' && request.method === 'GET') {
        response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Cache-Control': 'no-store' });
        response.flushHeaders();
        channel.stream = response;
        for (const frame of channel.waiting.splice(0)) response.write(frame);
      } else if (route === 'to-main' && request.method === 'POST') {
        void readBody(request).then((body) => {
          channel.toMain(body, Number(searchParams.get('sentAt')));
          response.writeHead(204).end();
        });
      } else if (route === 'delivered' && request.method === 'POST') {
        channel.delivered(Number(searchParams.get('seq')), Number(searchParams.get('at')));
        request.resume();
        response.writeHead(204).end();
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
    const toUi = new Map<number, MessageHop>();
    let seq = 0;
    const id = String(++this.nextChannel);
    const channel: Channel = {
      waiting: [],
      toMain: (body, sentAt) => {
        const message = unpack(body);
        const type = (message as { type: string }).type;
        hops.push({ direction: 'to-main', type, bytes: byteCount(message), sentAt, deliveredAt: clock(), message });
        fromUi.push(message);
        void controller.receive(message);
      },
      delivered: (number, at) => {
        const hop = toUi.get(number);
        toUi.delete(number);
        if (hop) hop.deliveredAt = at;
      },
    };
    this.channels.set(id, channel);
    figma.uiListener = (message) => {
      const hop: MessageHop = {
        direction: 'to-ui',
        type: (message as { type: string }).type,
        bytes: byteCount(message),
        sentAt: clock(),
        deliveredAt: Number.NaN,
        message,
      };
      hops.push(hop);
      toUi.set(++seq, hop);
      const body = pack({ seq, message });
      const length = Buffer.alloc(4);
      length.writeUInt32BE(body.length);
      const frame = Buffer.concat([length, body]);
      if (channel.stream) channel.stream.write(frame);
      else channel.waiting.push(frame);
    };
    page.once('close', () => {
      channel.stream?.end();
      this.channels.delete(id);
    });
    await page.goto(`${this.url}?channel=${id}`);
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
