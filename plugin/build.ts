/**
 * Builds the plugin into the files manifest.json names: dist/code.js (the main thread, ES2017,
 * since newer syntax such as object spread has broken Figma's main runtime) and dist/ui.html (the
 * panel, one file with its script and styles inlined, as Figma requires).
 *
 * Usage: pnpm --filter @pixels/plugin build   (or: tsx plugin/build.ts [--out <dir>])
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type BuildOptions, build, type Plugin, transform } from 'esbuild';

const PLUGIN_ROOT = dirname(fileURLToPath(import.meta.url));

export interface BuiltPlugin {
  codePath: string;
  uiPath: string;
  codeBytes: number;
  uiBytes: number;
}

/** Keeps inlined script text from ending the <script> element early. */
function escapeInlineScript(code: string): string {
  return code.replace(/<\/(script)/gi, '<\\/$1').replace(/<!--/g, '<\\!--');
}

/**
 * zod re-exports every message locale through `z.locales`, which keeps ~250 KiB of translations
 * in the bundle although only English is used (zod's own default). Resolve the locale index to a
 * module that exports English alone.
 */
const englishOnlyZodLocales: Plugin = {
  name: 'english-only-zod-locales',
  setup(context) {
    context.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) => {
      if (!/[\\/]zod[\\/]v4[\\/]/.test(args.importer)) return undefined;
      return {
        path: join(dirname(args.importer), '../locales/en.js').replace(/en\.js$/, 'english-only.js'),
        namespace: 'zod-locales',
      };
    });
    context.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({
      contents: `export { default as en } from ${JSON.stringify(args.path.replace(/english-only\.js$/, 'en.js'))};`,
      loader: 'js',
      resolveDir: dirname(args.path),
    }));
  },
};

const COMMON_OPTIONS: BuildOptions = {
  bundle: true,
  format: 'iife',
  platform: 'browser',
  minify: true,
  write: false,
  logLevel: 'silent',
  legalComments: 'none',
  plugins: [englishOnlyZodLocales],
};

/** The one dark palette in styles.css, applied under Figma's dark class. */
const DARK_PALETTE = /:root\.figma-dark\s*\{([^}]*)\}/g;

/**
 * styles.css writes the dark palette once, for Figma's figma-dark class; outside Figma (or before
 * it sets a class) the system's dark preference applies the same declarations, unless Figma says
 * light. Both blocks come from the one list.
 */
export function withDarkPalette(css: string): string {
  const blocks = [...css.matchAll(DARK_PALETTE)];
  if (blocks.length !== 1) {
    throw new Error(
      `src/ui/styles.css must hold exactly one ":root.figma-dark { ... }" palette, found ${blocks.length}.`,
    );
  }
  const [block, declarations] = blocks[0];
  const fromSystem = `@media (prefers-color-scheme: dark) {\n  :root:not(.figma-light) {${declarations}}\n}`;
  return css.replace(block, () => `${fromSystem}\n${block}`);
}

export async function buildPlugin(outDir = join(PLUGIN_ROOT, 'dist')): Promise<BuiltPlugin> {
  await mkdir(outDir, { recursive: true });
  const main = await build({
    ...COMMON_OPTIONS,
    entryPoints: [join(PLUGIN_ROOT, 'src/main/code.ts')],
    target: 'es2017',
  });
  const code = main.outputFiles![0].text;

  const ui = await build({ ...COMMON_OPTIONS, entryPoints: [join(PLUGIN_ROOT, 'src/ui/ui.ts')], target: 'es2020' });
  const script = ui.outputFiles![0].text;
  const css = await transform(withDarkPalette(await readFile(join(PLUGIN_ROOT, 'src/ui/styles.css'), 'utf8')), {
    loader: 'css',
    minify: true,
  });
  const template = await readFile(join(PLUGIN_ROOT, 'src/ui/index.html'), 'utf8');
  if (!template.includes('<!-- STYLES -->') || !template.includes('<!-- SCRIPT -->')) {
    throw new Error('src/ui/index.html must contain the <!-- STYLES --> and <!-- SCRIPT --> placeholders.');
  }
  const html = template
    .replace('<!-- STYLES -->', () => `<style>${css.code}</style>`)
    .replace('<!-- SCRIPT -->', () => `<script>${escapeInlineScript(script)}</script>`);

  const codePath = join(outDir, 'code.js');
  const uiPath = join(outDir, 'ui.html');
  await writeFile(codePath, code);
  await writeFile(uiPath, html);
  return { codePath, uiPath, codeBytes: Buffer.byteLength(code), uiBytes: Buffer.byteLength(html) };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const outIndex = process.argv.indexOf('--out');
  const built = await buildPlugin(outIndex > 0 ? resolve(process.argv[outIndex + 1]) : undefined);
  console.log(
    `plugin: ${built.codePath} (${(built.codeBytes / 1024).toFixed(1)} KiB), ${built.uiPath} (${(built.uiBytes / 1024).toFixed(1)} KiB)`,
  );
}
