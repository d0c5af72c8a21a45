/**
 * How the built panel looks and reads, in real Chromium: Figma UI3 sizes, the 720 px window,
 * tooltips, keyboard focus order and rings, labels, live status, and text contrast in both themes
 * (computed from the CSS variables and from what is rendered). Leaves the README's screenshots
 * in test-output/plugin (and in plugin/docs with PIXELS_UPDATE_SCREENSHOTS=1, see `pnpm screenshots`).
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EditSettings, type ModelSummary, readPngSize } from '@pixels/shared';
import type { Frame, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { buildPlugin } from '../../plugin/build.ts';
import { launchChromium } from './support/chromium.ts';
import { FAKE_MODEL, FakePixelsServer, type FakeServerOptions } from './support/fake-pixels-server.ts';
import { type OpenPanel, PanelHost } from './support/panel-harness.ts';
import { type PhotoScene, photoDocument, TOKEN } from './support/panel-scenes.ts';

let browser: Awaited<ReturnType<typeof launchChromium>>;
let host: PanelHost;
let buildDir: string;
let server: FakePixelsServer | undefined;
let panel: OpenPanel | undefined;
const OUTPUT_DIR = join(process.cwd(), 'test-output', 'plugin');

beforeAll(async () => {
  buildDir = await mkdtemp(join(tmpdir(), 'pixels-plugin-look-'));
  host = new PanelHost(await readFile((await buildPlugin(buildDir)).uiPath, 'utf8'));
  await host.start();
  browser = await launchChromium();
  await mkdir(OUTPUT_DIR, { recursive: true });
});

afterAll(async () => {
  await browser?.close();
  await host?.stop();
  await rm(buildDir, { recursive: true, force: true });
});

afterEach(async () => {
  await panel?.page.close();
  panel = undefined;
  await server?.stop();
  server = undefined;
});

async function openWith(scene: PhotoScene, options: FakeServerOptions = {}): Promise<OpenPanel> {
  server = new FakePixelsServer({ token: TOKEN, steps: 4, stepDelayMs: 60, ...options });
  await server.start();
  await scene.figma.clientStorage.setAsync('pixels.connection', { serverUrl: server.url, token: TOKEN });
  panel = await host.open(browser.context, scene.figma);
  return panel;
}

async function ready(frame: Frame): Promise<void> {
  await frame.waitForSelector('#connection-status[data-state="connected"]');
  await frame.waitForSelector('#map-preview[data-state="drawn"]');
}

/** Saves a screenshot of the panel under test-output, and in plugin/docs when asked to. */
async function screenshot(page: Page, name: string, forReadme = true): Promise<void> {
  const png = await page.screenshot({ path: join(OUTPUT_DIR, `${name}.png`) });
  if (forReadme && process.env.PIXELS_UPDATE_SCREENSHOTS === '1')
    await writeFile(new URL(`../../plugin/docs/${name}.png`, import.meta.url), png);
}

const TEXT_MODEL: ModelSummary = { ...FAKE_MODEL, name: 'sd15', family: 'sd1', usesPrompt: true, defaultGuidance: 7.5 };

type Rgb = [number, number, number];

function parseColor(text: string): { rgb: Rgb; alpha: number } {
  const hex = /^#([0-9a-f]{6})$/i.exec(text.trim());
  if (hex) {
    const value = Number.parseInt(hex[1], 16);
    return { rgb: [value >> 16, (value >> 8) & 255, value & 255], alpha: 1 };
  }
  const numbers = /rgba?\(([^)]+)\)/
    .exec(text)?.[1]
    .split(/[,\s/]+/)
    .filter(Boolean)
    .map(Number);
  if (!numbers) throw new Error(`Cannot read the colour "${text}".`);
  return { rgb: [numbers[0], numbers[1], numbers[2]], alpha: numbers[3] ?? 1 };
}

function luminance([r, g, b]: Rgb): number {
  const channel = (value: number) => {
    const c = value / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
}

/** WCAG 2 contrast ratio. */
function contrast(a: Rgb, b: Rgb): number {
  const [light, dark] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (light + 0.05) / (dark + 0.05);
}

/** Every pair of text colour and surface the stylesheet puts together. */
const TEXT_PAIRS: Array<[text: string, surface: string]> = [
  ['--text', '--bg'],
  ['--text', '--bg-secondary'],
  ['--text', '--bg-hover'],
  ['--text-secondary', '--bg'],
  ['--text-secondary', '--bg-secondary'],
  ['--text-secondary', '--bg-hover'],
  ['--text-link', '--bg'],
  ['--success-text', '--bg'],
  ['--danger-text', '--bg'],
  ['--danger-text', '--danger-bg'],
  ['--text', '--danger-bg'],
  ['--warning-text', '--warning-bg'],
  ['--onbrand', '--brand'],
  ['--onbrand', '--brand-hover'],
  ['--tooltip-text', '--tooltip-bg'],
];

describe('the panel looks and reads like Figma', () => {
  // 'figma-dark': Figma's dark class on a system in light mode; the build writes the one dark palette under both.
  for (const theme of ['light', 'dark', 'figma-dark'] as const) {
    it(`every text colour has at least 4.5:1 contrast on its surface, from the CSS variables (${theme})`, async () => {
      const { page, frame } = await openWith(await photoDocument());
      await page.emulateMedia({ colorScheme: theme === 'dark' ? 'dark' : 'light' });
      if (theme === 'figma-dark') await frame.evaluate(() => document.documentElement.classList.add('figma-dark'));
      const variables = await frame.evaluate(
        (names) => {
          const style = getComputedStyle(document.documentElement);
          // Resolve var() chains by painting each variable onto a probe element.
          const probe = document.createElement('div');
          document.body.append(probe);
          const resolved = Object.fromEntries(
            names.map((name) => {
              probe.style.color = `var(${name})`;
              return [name, getComputedStyle(probe).color || style.getPropertyValue(name)];
            }),
          );
          probe.remove();
          return resolved;
        },
        [...new Set(TEXT_PAIRS.flat())],
      );
      const failures = TEXT_PAIRS.flatMap(([text, surface]) => {
        const ratio = contrast(parseColor(variables[text]).rgb, parseColor(variables[surface]).rgb);
        return ratio < 4.5 ? [`${text} on ${surface}: ${ratio.toFixed(2)}:1`] : [];
      });
      expect(failures).toEqual([]);
    });
  }

  it('every rendered text and placeholder has at least 4.5:1 contrast, in both themes and the error state', async () => {
    const scene = await photoDocument();
    await scene.addEarlierResult({ runMs: 2000, runSteps: 10 });
    const { page, frame } = await openWith(scene, { maxSteps: 8 });
    await ready(frame);
    await frame.fill('#steps', '20');
    await frame.click('#blend');
    await frame.waitForSelector('#problem:not([hidden])');
    await frame.$eval('#advanced-section', (details) => {
      (details as HTMLDetailsElement).open = true;
    });
    for (const theme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme: theme });
      const failures = await frame.evaluate(() => {
        const parse = (text: string) => {
          const n = /rgba?\(([^)]+)\)/
            .exec(text)![1]
            .split(/[,\s/]+/)
            .filter(Boolean)
            .map(Number);
          return { rgb: [n[0], n[1], n[2]], alpha: n[3] ?? 1 };
        };
        const lum = (rgb: number[]) =>
          rgb
            .map((v) => v / 255)
            .map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4))
            .reduce((sum, c, i) => sum + c * [0.2126, 0.7152, 0.0722][i], 0);
        const ratio = (a: number[], b: number[]) => {
          const [hi, lo] = [lum(a), lum(b)].sort((x, y) => y - x);
          return (hi + 0.05) / (lo + 0.05);
        };
        /** The opaque colour behind an element: its own and its ancestors' backgrounds, composited. */
        const background = (start: Element): number[] => {
          const layers: Array<{ rgb: number[]; alpha: number }> = [];
          for (let node: Element | null = start; node; node = node.parentElement) {
            const color = parse(getComputedStyle(node).backgroundColor);
            if (color.alpha > 0) layers.push(color);
            if (color.alpha >= 1) break;
          }
          let rgb = [255, 255, 255];
          for (const layer of layers.reverse())
            rgb = rgb.map((v, i) => layer.rgb[i] * layer.alpha + v * (1 - layer.alpha));
          return rgb;
        };
        const problems: string[] = [];
        for (const node of document.querySelectorAll<HTMLElement>('body *')) {
          if (node.closest('[hidden], script, style, .tooltip, :disabled, fieldset:disabled')) continue;
          const ownText = [...node.childNodes].some(
            (child) => child.nodeType === Node.TEXT_NODE && child.textContent!.trim() !== '',
          );
          const placeholder =
            (node instanceof HTMLInputElement || node instanceof HTMLTextAreaElement) &&
            node.placeholder &&
            !node.value;
          if (!ownText && !placeholder) continue;
          if (node.getClientRects().length === 0) continue;
          const style = getComputedStyle(node, placeholder && !ownText ? '::placeholder' : null);
          const color = parse(style.color);
          const behind = background(node);
          const text = color.rgb.map((v, i) => v * color.alpha + behind[i] * (1 - color.alpha));
          const value = ratio(text, behind) * (Number(getComputedStyle(node).opacity) < 1 ? 0 : 1);
          if (value < 4.5)
            problems.push(
              `${node.tagName.toLowerCase()}#${node.id}.${node.className} "${(node.textContent || (node as HTMLInputElement).placeholder).trim().slice(0, 30)}": ${value.toFixed(2)}:1`,
            );
        }
        return problems;
      });
      expect(failures, theme).toEqual([]);
    }
  });

  it('uses Figma UI3 sizes: 11 px Inter, 24 px rows, buttons and grey-filled inputs, Figma-style selects', async () => {
    const { frame } = await openWith(await photoDocument());
    await ready(frame);
    const look = await frame.evaluate(() => {
      const style = (selector: string) => getComputedStyle(document.querySelector(selector)!);
      const height = (selector: string) => document.querySelector(selector)!.getBoundingClientRect().height;
      return {
        font: style('body').fontSize,
        family: style('body').fontFamily,
        blend: height('#blend'),
        connect: height('#connect'),
        steps: height('#steps'),
        model: height('#model'),
        layerRow: height('.layer'),
        stepsFill: style('#steps').backgroundColor,
        secondary: getComputedStyle(document.documentElement).getPropertyValue('--fallback-bg-secondary').trim(),
        selectAppearance: style('#model').appearance,
        selectChevron: style('#model').backgroundImage,
      };
    });
    expect(look.font).toBe('11px');
    expect(look.family.startsWith('Inter')).toBe(true);
    expect([look.blend, look.steps, look.model, look.layerRow]).toEqual([24, 24, 24, 24]);
    expect(look.stepsFill).toBe('rgb(245, 245, 245)');
    expect(look.selectAppearance).toBe('none');
    expect(look.selectChevron).toContain('data:image/svg+xml');
  });

  it('fits the 720 px window with the default sections open, for a model with and without prompts', async () => {
    for (const models of [[FAKE_MODEL], [TEXT_MODEL]]) {
      const { frame, page } = await openWith(await photoDocument(), { models });
      await ready(frame);
      const open = await frame.$$eval('details', (all) =>
        all.filter((details) => (details as HTMLDetailsElement).open).map((details) => details.id),
      );
      expect(open).toEqual(models[0].usesPrompt ? ['prompt-section', 'history-section'] : ['history-section']);
      const height = await frame.evaluate(() => document.documentElement.scrollHeight);
      expect(height, models[0].name).toBeLessThanOrEqual(720);
      await page.close();
      panel = undefined;
      await server?.stop();
      server = undefined;
    }
  });

  it('has tooltips for Strength, Feather and Threshold', async () => {
    const { frame } = await openWith(await photoDocument());
    await ready(frame);
    for (const [control, words] of [
      ['strength', 'redraws it fully'],
      ['map-feather', 'soft edge'],
      ['threshold', 'gray level'],
    ] as const) {
      const tip = await frame.getAttribute(`#${control}`, 'aria-describedby');
      expect(await frame.textContent(`#${tip}`)).toContain(words);
    }
    await frame.hover('label[for="strength"]');
    await frame.waitForFunction(() => getComputedStyle(document.getElementById('tip-strength')!).opacity === '1');
  });

  it('labels every control, announces status in a live region and names every progress bar', async () => {
    const { frame } = await openWith(await photoDocument(), { holdJobs: true });
    await ready(frame);
    await frame.click('#blend');
    await frame.waitForSelector('.job .progress');
    const unnamed = await frame.evaluate(() =>
      [...document.querySelectorAll<HTMLElement>('input, select, textarea, button, [role="progressbar"]')]
        .filter((control) => {
          if (control.closest('[hidden]')) return false;
          const labels = (control as HTMLInputElement).labels;
          const named =
            (labels && labels.length > 0 && [...labels].some((label) => label.textContent!.trim() !== '')) ||
            control.getAttribute('aria-label') ||
            control.getAttribute('aria-labelledby') ||
            (control.tagName === 'BUTTON' && control.textContent!.trim());
          return !named;
        })
        .map((control) => `${control.tagName.toLowerCase()}#${control.id}`),
    );
    expect(unnamed).toEqual([]);
    expect(await frame.getAttribute('#status-line', 'role')).toBe('status');
    expect(await frame.getAttribute('#status-line', 'aria-live')).toBe('polite');
    expect(await frame.getAttribute('#problem', 'role')).toBe('alert');
  });

  it('moves focus in reading order with visible rings, also on sliders and checkboxes', async () => {
    const { frame, page } = await openWith(await photoDocument());
    await ready(frame);
    await frame.focus('#server-section > summary');
    const order: string[] = [];
    const rings: Record<string, string> = {};
    for (let i = 0; i < 14; i++) {
      const focused = await frame.evaluate(() => {
        const active = document.activeElement as HTMLElement;
        const name = active.id || active.getAttribute('aria-label') || active.closest('details')?.id || active.tagName;
        return { name, outline: getComputedStyle(active).outlineStyle };
      });
      order.push(focused.name);
      rings[focused.name] = focused.outline;
      await page.keyboard.press('Tab');
    }
    expect(order).toEqual([
      'server-section',
      'Role of Cat photo',
      'Role of Sticker',
      'preview-exemplar',
      'map-grow',
      'map-feather',
      'prompt-section',
      'model',
      'strength',
      'steps',
      'variations',
      'advanced-section',
      'history-section',
      'blend',
    ]);
    for (const name of ['map-grow', 'strength', 'preview-exemplar', 'blend', 'model'])
      expect(rings[name], name).toBe('solid');
  });
});

describe('screenshots for the README', () => {
  it('light and dark, running, history and error states', async () => {
    const scene = await photoDocument();
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', {
      edit: EditSettings.parse({ previews: true }),
      variations: 2,
    });
    const { page, frame } = await openWith(scene, { steps: 5, stepDelayMs: 400 });
    await ready(frame);
    await frame.check('#preview-exemplar');
    await frame.waitForSelector('#map-preview[data-shows-exemplar="true"]');
    await page.emulateMedia({ colorScheme: 'light' });
    expect(await frame.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(255, 255, 255)');
    await screenshot(page, 'panel-light');
    await page.emulateMedia({ colorScheme: 'dark' });
    expect(await frame.evaluate(() => getComputedStyle(document.body).backgroundColor)).toBe('rgb(44, 44, 44)');
    await screenshot(page, 'panel-dark');
    await page.emulateMedia({ colorScheme: 'light' });

    await frame.click('#blend');
    await frame.waitForSelector('.job-preview');
    await frame.waitForFunction(() =>
      /Step [3-5] of 5/.test(document.getElementById('status-line')?.textContent ?? ''),
    );
    await frame.evaluate(() => document.getElementById('history-section')!.scrollIntoView());
    await screenshot(page, 'panel-running');
    await frame.waitForFunction(() => document.querySelectorAll('.history-entry').length === 2, undefined, {
      timeout: 30_000,
    });
    await frame.waitForFunction(() =>
      [...document.querySelectorAll<HTMLImageElement>('.history-entry img')].every((image) => image.naturalWidth > 0),
    );
    await frame.evaluate(() => document.getElementById('history-section')!.scrollIntoView());
    await screenshot(page, 'panel-history');

    await server!.stop();
    await frame.evaluate(() => window.scrollTo(0, 0));
    await frame.click('#server-section > summary');
    await frame.click('#connect');
    await frame.waitForSelector('#problem:not([hidden])');
    await screenshot(page, 'panel-error');
  }, 60_000);

  it('more states, for looking at (test-output only): guide, a refused setting, a text model, a tooltip', async () => {
    const scene = await photoDocument();
    scene.figma.currentPage.selection = [];
    await scene.figma.clientStorage.setAsync('pixels.panelSettings', { edit: EditSettings.parse({ steps: 20 }) });
    const { page, frame } = await openWith(scene, { maxSteps: 8, models: [TEXT_MODEL] });
    await frame.waitForSelector('#connection-status[data-state="connected"]');
    await frame.waitForSelector('#guide:not([hidden])');
    await screenshot(page, 'look-guide', false);
    scene.figma.currentPage.selection = [scene.source, scene.sticker];
    await frame.waitForSelector('#map-preview[data-state="drawn"]');
    await screenshot(page, 'look-text-model', false);
    await frame.click('#blend');
    await frame.waitForSelector('#problem:not([hidden])');
    await screenshot(page, 'look-steps-error', false);
    await frame.hover('label[for="strength"]');
    await frame.waitForFunction(() => getComputedStyle(document.getElementById('tip-strength')!).opacity === '1');
    await screenshot(page, 'look-tooltip', false);
  });

  it('the README shows every state, each picture a 340x720 panel made by this test run or e2e.test.ts', async () => {
    const readme = await readFile(new URL('../../plugin/README.md', import.meta.url), 'utf8');
    for (const name of ['panel', 'panel-light', 'panel-dark', 'panel-running', 'panel-history', 'panel-error']) {
      expect(readme, name).toContain(`(docs/${name}.png)`);
      const png = new Uint8Array(await readFile(new URL(`../../plugin/docs/${name}.png`, import.meta.url)));
      expect(readPngSize(png), name).toEqual({ width: 340, height: 720 });
    }
  });
});
