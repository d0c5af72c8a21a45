import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runPixels } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';

// The process runs at the repository root, as under `pnpm pixels`; INIT_CWD is the user's folder.
let userDir: string;
beforeAll(async () => {
  userDir = await tempDir('cli-user');
  await mkdir(join(userDir, 'empty-model'));
});

describe('relative paths are taken from the folder the user ran the command in', () => {
  it('pixels models verify', async () => {
    const result = await runPixels(['models', 'verify', '--quick', 'empty-model'], { INIT_CWD: userDir });
    expect(result.code).toBe(1);
    expect(result.stdout).toContain(`${join(userDir, 'empty-model')} is not a model folder`);
  });

  it('pixels serve --tokens-file', async () => {
    const result = await runPixels(['serve', '--port', '0', '--tokens-file', 'tokens.json'], { INIT_CWD: userDir });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(`Cannot read the tokens file ${join(userDir, 'tokens.json')}`);
  });

  it('PIXELS_MODELS_DIR', async () => {
    const result = await runPixels(['models', '--json'], { INIT_CWD: userDir, PIXELS_MODELS_DIR: 'my-models' });
    expect(result.code).toBe(0);
    // The built-in model is generated into the models folder on first listing: it lands in the user's folder.
    expect(JSON.parse(result.stdout).models.map((model: { name: string }) => model.name)).toEqual(['builtin']);
    expect(existsSync(join(userDir, 'my-models', 'builtin', 'model_index.json'))).toBe(true);
  });
});
