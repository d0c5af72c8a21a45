import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { transform } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type BuiltPlugin, buildPlugin } from '../../plugin/build.ts';
import { RELAUNCH_COMMANDS } from '../../plugin/src/main/relaunch-commands.ts';

let outDir: string;
let built: BuiltPlugin;
beforeAll(async () => {
  outDir = await mkdtemp(join(tmpdir(), 'pixels-plugin-build-test-'));
  built = await buildPlugin(outDir);
});
afterAll(async () => {
  await rm(outDir, { recursive: true, force: true });
});

describe('the plugin build', () => {
  it("writes main code that needs nothing newer than ES2017 (newer syntax has broken Figma's main runtime)", async () => {
    const code = await readFile(built.codePath, 'utf8');
    // Reprinting for ES2017 changes nothing only if no newer syntax is left to lower (without
    // minifying, which would re-sugar for a newer target).
    const lowered = await transform(code, { target: 'es2017', legalComments: 'none' });
    const untouched = await transform(code, { target: 'esnext', legalComments: 'none' });
    expect(lowered.code).toBe(untouched.code);
    // The check itself notices newer syntax:
    const spread = 'let copy = { ...original, more: a?.b };';
    expect((await transform(spread, { target: 'es2017' })).code).not.toBe(
      (await transform(spread, { target: 'esnext' })).code,
    );
    expect(code).not.toMatch(/\b(require|import)\s*\(/);
  });

  it('writes one self-contained ui.html, script and styles inlined', async () => {
    const html = await readFile(built.uiPath, 'utf8');
    expect(html).not.toMatch(/<script[^>]+src=/i);
    expect(html).not.toMatch(/<link[^>]+stylesheet/i);
    expect(html.match(/<script>/g)).toHaveLength(1);
    expect(html).toContain('<style>');
    expect(html).not.toContain('<!-- SCRIPT -->');
    // An inlined "</script" would end the script element early.
    const script = html.slice(html.indexOf('<script>') + 8, html.lastIndexOf('</script>'));
    expect(script).not.toMatch(/<\/script/i);
  });

  it("writes the one dark palette under the system's dark preference and under Figma's dark class", async () => {
    const html = await readFile(built.uiPath, 'utf8');
    const css = html.slice(html.indexOf('<style>') + 7, html.indexOf('</style>'));
    const fromSystem = /@media ?\(prefers-color-scheme: ?dark\) ?\{ ?:root:not\(\.figma-light\) ?\{([^}]*)\}/.exec(css);
    const fromFigma = /:root\.figma-dark ?\{([^}]*)\}/.exec(css);
    expect(fromSystem?.[1]).toMatch(/--fallback-bg: ?#2c2c2c/);
    expect(fromSystem?.[1]).toBe(fromFigma?.[1]);
    const source = await readFile(new URL('../../plugin/src/ui/styles.css', import.meta.url), 'utf8');
    expect(source.match(/--fallback-bg: #2c2c2c/g)).toHaveLength(1);
  });
});

describe('manifest.json', () => {
  it('names the built files, dynamic page access, network access with a reason, and the relaunch commands', async () => {
    const manifest = JSON.parse(await readFile(new URL('../../manifest.json', import.meta.url), 'utf8'));
    expect(manifest).toMatchObject({
      api: '1.0.0',
      editorType: ['figma'],
      main: 'plugin/dist/code.js',
      ui: 'plugin/dist/ui.html',
      documentAccess: 'dynamic-page',
    });
    expect(manifest.networkAccess.allowedDomains).toEqual(['*']);
    expect(manifest.networkAccess.reasoning.length).toBeGreaterThan(40);
    expect(manifest.networkAccess.devAllowedDomains).toContain('http://localhost');
    for (const domain of manifest.networkAccess.devAllowedDomains)
      expect(domain).toMatch(/^http:\/\/localhost(:\d+)?$/);
    expect(manifest.relaunchButtons.map((button: { command: string }) => button.command).sort()).toEqual(
      Object.values(RELAUNCH_COMMANDS).sort(),
    );
  });
});
