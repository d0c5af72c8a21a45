import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { EDIT_USAGE, parseEditArguments } from '@pixels/server/cli/edit.ts';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../../helpers/cli.ts';

/** The option table of the README's "Worked example" section: [flags, default cell] per row. */
function readmeOptionTable(): { flags: string[]; defaults: string }[] {
  const readme = readFileSync(join(REPO_ROOT, 'README.md'), 'utf8');
  const section = readme.split(/^## /m).find((part) => part.startsWith('Worked example'));
  if (!section) throw new Error('README.md has no "Worked example" section');
  const rows = section.split('\n').filter((line) => line.startsWith('|'));
  return rows.slice(2).map((row) => {
    const cells = row
      .slice(1, -1)
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim());
    return { flags: cells[0].match(/--[a-z][a-z-]*/g) ?? [], defaults: cells[1] };
  });
}

/** What the CLI really does when a flag is left out, from the parsed settings (whose defaults are the schema's). */
function realDefaults(): Record<string, string> {
  const parsed = parseEditArguments(['--source', 's.png', '--exemplar', 'e.png', '--out', 'o.png']);
  if (parsed.help) throw new Error('unexpected help');
  const { settings } = parsed;
  const absent = (value: unknown, words: string) => {
    expect(value, `the README says "${words}": the CLI must leave it unset`).toBeUndefined();
    return words;
  };
  return {
    '--source': '',
    '--exemplar': '',
    '--out': '',
    '--map': absent(parsed.map, "exemplars' alpha, grown and feathered"),
    '--invert-map': settings.invertMap ? 'on' : 'off',
    '--strength': String(settings.strength),
    '--steps': String(settings.steps),
    '--threshold': settings.threshold,
    '--seed': absent(settings.seed, 'random, printed'),
    '--prompt': settings.prompt === '' ? 'none' : settings.prompt,
    '--negative-prompt': settings.negativePrompt === '' ? 'none' : settings.negativePrompt,
    '--guidance': absent(settings.guidance, "model's own"),
    '--model': settings.model,
    '--device': parsed.device,
    '--fit': settings.fit,
    '--grow': String(settings.grow),
    '--feather': String(settings.feather),
    '--no-paste-back': settings.pasteBack ? 'paste-back on' : 'paste-back off',
    '--iterative': settings.exemplarMode,
    '--region': settings.region,
    '--region-margin': absent(settings.regionMargin, '32 px or 1/8 region, ≥ 32 px'),
  };
}

describe("README's option table", () => {
  const table = readmeOptionTable();
  const real = realDefaults();

  it('lists every option of pixels edit --help, and only those', () => {
    const documented = table.flatMap((row) => row.flags).sort();
    const offered = [...new Set(EDIT_USAGE.match(/--[a-z][a-z-]*/g))].filter((flag) => flag !== '--help').sort();
    expect(documented).toEqual(offered);
  });

  it.each(table.map((row) => [row.flags.join(' '), row] as const))('%s: the default is the real one', (_name, row) => {
    const values = row.flags.map((flag) => real[flag]);
    // One default per flag, comma-separated, or one for all when they share it.
    const allSame = values.every((value) => value === values[0]);
    expect(allSame ? [values.join(', '), values[0]] : [values.join(', ')]).toContain(row.defaults);
  });
});
