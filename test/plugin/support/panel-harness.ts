/**
 * Runs the built panel (dist/ui.html) the way Figma does: inside a sandboxed iframe (origin
 * "null") in real Chromium, talking through window.postMessage to a host page. The host page
 * forwards every message to the real main-thread code (PluginController) running in Node against
 * the typed Figma fake, so the whole plugin runs; only Figma itself is simulated.
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
  const toBase64 = (bytes) => { let s = ''; for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000)); return btoa(s); };
  const fromBase64 = (text) => { const s = atob(text); const bytes = new Uint8Array(s.length); for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i); return bytes; };
  const encode = (value) => value instanceof Uint8Array ? { __bytes: toBase64(value) }
    : Array.isArray(value) ? value.map(encode)
    : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, encode(v)])) : value;
  const decode = (value) => value && typeof value === 'object' && '__bytes' in value ? fromBase64(value.__bytes)
    : Array.isArray(value) ? value.map(decode)
    : value && typeof value === 'object' ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, decode(v)])) : value;
  window.toUi = (encoded) => frame.contentWindow.postMessage({ pluginMessage: decode(encoded) }, '*');
  window.addEventListener('message', (event) => {
    if (event.source !== frame.contentWindow || !event.data || !('pluginMessage' in event.data)) return;
    window.sendToMain(encode(event.data.pluginMessage));
  });
</script>
</body></html>`;

type Encoded = unknown;

function encode(value: unknown): Encoded {
  if (value instanceof Uint8Array) return { __bytes: Buffer.from(value).toString('base64') };
  if (Array.isArray(value)) return value.map(encode);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encode(inner)]));
  return value;
}

function decode(value: Encoded): unknown {
  if (value && typeof value === 'object' && '__bytes' in value)
    return new Uint8Array(Buffer.from(String(value.__bytes), 'base64'));
  if (Array.isArray(value)) return value.map(decode);
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, decode(inner)]));
  return value;
}

/** Serves the host page and the built ui.html on loopback. */
export class PanelHost {
  private server: Server | undefined;
  url = '';

  constructor(private readonly uiHtml: string) {}

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      if (request.url === '/ui.html') response.writeHead(200, { 'Content-Type': 'text/html' }).end(this.uiHtml);
      else if (request.url === '/') response.writeHead(200, { 'Content-Type': 'text/html' }).end(HOST_PAGE);
      else response.writeHead(404).end();
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
    let delivery = Promise.resolve();
    figma.uiListener = (message) => {
      const encoded = encode(message);
      delivery = delivery
        .then(() => page.evaluate((data) => (window as unknown as { toUi(data: unknown): void }).toUi(data), encoded))
        .catch(() => undefined);
    };
    await page.exposeBinding('sendToMain', (_source, encoded: Encoded) => {
      const message = decode(encoded);
      fromUi.push(message);
      void controller.receive(message);
    });
    await page.goto(this.url);
    const frame = await waitForPanelFrame(page);
    return { page, frame, controller, fromUi };
  }
}

export interface OpenPanel {
  page: Page;
  /** The panel's own frame (sandboxed, origin "null"). */
  frame: Frame;
  controller: PluginController;
  /** Every message the panel sent to the main thread, decoded. */
  fromUi: unknown[];
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
