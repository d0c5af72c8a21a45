import { cp, mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pullModel } from '@pixels/server/hub/pull-model.ts';
import { describeModel } from '@pixels/server/models/describe-model.ts';
import { ModelRegistry } from '@pixels/server/models/model-registry.ts';
import { createModel, GraphBuilder, writeModel } from '@pixels/server/onnx/writer/index.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPixels } from '../../helpers/cli.ts';
import { tempDir } from '../../helpers/temp-dirs.ts';
import { tinyModel } from '../../helpers/tiny-model-folders.ts';
import { type FakeHub, startFakeHub } from './fake-hub.ts';

const COMMIT = 'c0ffee1234567890c0ffee1234567890c0ffee12';
/** What the loader needs from the tiny SDXL-Turbo export, and nothing else. */
const NEEDED = [
  'model_index.json',
  'scheduler/scheduler_config.json',
  'text_encoder/config.json',
  'text_encoder/model.onnx',
  'text_encoder_2/config.json',
  'text_encoder_2/model.onnx',
  'text_encoder_2/model.onnx_data',
  'tokenizer/merges.txt',
  'tokenizer/special_tokens_map.json',
  'tokenizer/tokenizer_config.json',
  'tokenizer/vocab.json',
  'tokenizer_2/merges.txt',
  'tokenizer_2/special_tokens_map.json',
  'tokenizer_2/tokenizer_config.json',
  'tokenizer_2/vocab.json',
  'unet/config.json',
  'unet/model.onnx',
  'unet/model.onnx_data',
  'vae_decoder/config.json',
  'vae_decoder/model.onnx',
  'vae_encoder/config.json',
  'vae_encoder/model.onnx',
];
const JUNK = [
  'README.md',
  'unet/diffusion_pytorch_model.safetensors',
  'safety_checker/model.onnx',
  'feature_extractor/preprocessor_config.json',
];

let hub: FakeHub;

async function listFiles(dir: string, prefix = ''): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) out.push(...(await listFiles(join(dir, entry.name), `${prefix}${entry.name}/`)));
    else out.push(`${prefix}${entry.name}`);
  }
  return out.sort();
}

beforeAll(async () => {
  const turbo = await tinyModel('sdxl-turbo');
  for (const junk of JUNK) {
    await mkdir(join(turbo, junk, '..'), { recursive: true });
    await writeFile(join(turbo, junk), 'not needed');
  }
  const nested = await tempDir('hub-nested');
  await cp(turbo, join(nested, 'onnx'), { recursive: true });
  await writeFile(join(nested, 'model_index.json'), '{"_class_name": "StableDiffusionXLPipeline"}');
  const pytorch = await tempDir('hub-pt');
  await mkdir(join(pytorch, 'unet'));
  await writeFile(join(pytorch, 'model_index.json'), '{}');
  await writeFile(join(pytorch, 'unet', 'diffusion_pytorch_model.safetensors'), 'weights');
  const controlnet = await tinyModel('sd1');
  const graph = new GraphBuilder('unet');
  for (const name of ['sample', 'controlnet_cond', 'encoder_hidden_states'])
    graph.input(name, 'float32', ['b', 4, 'h', 'w']);
  graph.input('timestep', 'int64', ['b']);
  graph.op('Identity', ['sample'], {}, { outputs: ['out_sample'] });
  graph.output('out_sample', 'float32', ['b', 4, 'h', 'w']);
  await writeModel(join(controlnet, 'unet', 'model.onnx'), createModel(graph.build()), { location: 'model.onnx_data' });
  await writeFile(join(controlnet, 'unet', 'model.onnx_data'), new Uint8Array(4096));
  hub = await startFakeHub([
    { id: 'tiny/sdxl-turbo', commit: COMMIT, dir: turbo },
    { id: 'tiny/nested', commit: COMMIT, dir: nested },
    { id: 'tiny/pytorch-only', commit: COMMIT, dir: pytorch },
    { id: 'tiny/controlnet', commit: COMMIT, dir: controlnet },
  ]);
});
afterAll(() => hub.close());

async function modelsFolder(): Promise<string> {
  return tempDir('pulled');
}

describe('pixels models pull', () => {
  it('downloads only the files the loader needs, verified, into a folder that appears in one step', async () => {
    const modelsDir = await modelsFolder();
    hub.requests.length = 0;
    const progress: number[] = [];
    const result = await pullModel({
      endpoint: hub.endpoint,
      repo: 'tiny/sdxl-turbo',
      modelsDir,
      onProgress: (step) => progress.push(step.doneBytes / step.totalBytes),
    });
    expect(result.dir).toBe(join(modelsDir, 'sdxl-turbo'));
    expect(result.commit).toBe(COMMIT);
    expect(await listFiles(result.dir)).toEqual([...NEEDED, 'pixels-pull.json'].sort());
    const fetched = hub.requests.map((request) => request.file).filter(Boolean);
    for (const junk of JUNK) expect(fetched).not.toContain(junk);
    expect(progress.at(-1)).toBe(1);
    expect(JSON.parse(await readFile(join(result.dir, 'pixels-pull.json'), 'utf8'))).toMatchObject({
      repo: 'tiny/sdxl-turbo',
      commit: COMMIT,
      revision: 'main',
    });
    expect((await readdir(modelsDir)).filter((name) => name.startsWith('.'))).toEqual([]);
    expect((await describeModel(result.dir, 'sdxl-turbo')).info.family).toBe('sdxl-turbo');
  });

  it('resumes an interrupted transfer within the run, with a Range request', async () => {
    const modelsDir = await modelsFolder();
    hub.requests.length = 0;
    hub.interrupt('unet/model.onnx_data', 1000, 1);
    const result = await pullModel({ endpoint: hub.endpoint, repo: 'tiny/sdxl-turbo', modelsDir });
    const data = hub.requests.filter((request) => request.file === 'unet/model.onnx_data');
    expect(data.map((request) => request.range)).toContain('bytes=1000-');
    const original = await stat(join(modelsDir, 'sdxl-turbo', 'unet', 'model.onnx_data'));
    expect(original.size).toBeGreaterThan(1000);
    expect(result.files).toContain('unet/model.onnx_data');
  });

  it('leaves nothing listed when a pull fails, and the next pull resumes where it stopped', async () => {
    const modelsDir = await modelsFolder();
    hub.interrupt('text_encoder_2/model.onnx_data', 1500, 4);
    await expect(pullModel({ endpoint: hub.endpoint, repo: 'tiny/sdxl-turbo', modelsDir })).rejects.toThrow(
      /text_encoder_2\/model\.onnx_data: the download failed 4 times \(last: the connection dropped after 1500 of \d+ bytes \(terminated\)\); run the same pull again to resume/,
    );
    const registry = new ModelRegistry({ modelsDir, session: { providers: ['cpu'], intraOpThreads: 1 } });
    expect(await registry.names()).toEqual(['builtin']);
    const partial = join(modelsDir, '.pulling-sdxl-turbo', 'text_encoder_2', 'model.onnx_data.incomplete');
    expect((await stat(partial)).size).toBe(1500);

    hub.requests.length = 0;
    await pullModel({ endpoint: hub.endpoint, repo: 'tiny/sdxl-turbo', modelsDir });
    const fetched = hub.requests.filter((request) => request.file);
    // One transfer, from where the first run stopped (the CDN request; the redirecting one carries the same range).
    const transfers = fetched.filter(
      (request) => request.file === 'text_encoder_2/model.onnx_data' && request.path.startsWith('/cdn/'),
    );
    expect(transfers.map((request) => request.range)).toEqual(['bytes=1500-']);
    // Files finished in the first run are not fetched again.
    expect(fetched.map((request) => request.file)).not.toContain('unet/model.onnx');
    expect(await registry.names()).toEqual(['builtin', 'sdxl-turbo']);
  });

  it.each([
    ['an LFS file (sha256)', 'unet/model.onnx'],
    ['a git file (blob sha1)', 'scheduler/scheduler_config.json'],
  ])('refuses %s whose bytes do not match the hash the Hub reports', async (_kind, path) => {
    const modelsDir = await modelsFolder();
    const other = await startFakeHub([
      {
        id: 'tiny/sdxl-turbo',
        commit: COMMIT,
        dir: join(hub.endpoint ? '' : '', (await tinyModel('sdxl-turbo')).toString()),
      },
    ]);
    other.corrupt(path);
    await expect(pullModel({ endpoint: other.endpoint, repo: 'tiny/sdxl-turbo', modelsDir })).rejects.toThrow(
      new RegExp(
        `${path.replace('.', '\\.')}: the download failed 4 times \\(last: its hash is [0-9a-f]+, the Hub lists [0-9a-f]+\\)`,
      ),
    );
    expect(await readdir(modelsDir)).toEqual(['.pulling-sdxl-turbo']);
    await other.close();
  });

  it('finds the model in a subfolder of the repository', async () => {
    const modelsDir = await modelsFolder();
    const result = await pullModel({ endpoint: hub.endpoint, repo: 'tiny/nested', modelsDir, name: 'nested-turbo' });
    expect(await listFiles(result.dir)).toEqual([...NEEDED, 'pixels-pull.json'].sort());
  });

  it('checks the graphs before fetching weights: an unusable model downloads no weights', async () => {
    const modelsDir = await modelsFolder();
    hub.requests.length = 0;
    await expect(pullModel({ endpoint: hub.endpoint, repo: 'tiny/controlnet', modelsDir })).rejects.toThrow(
      /tiny\/controlnet: not a model PIXELS can run, so no weights were downloaded\. .*unexpected UNet input 'controlnet_cond'/,
    );
    expect(hub.requests.map((request) => request.file)).not.toContain('unet/model.onnx_data');
  });

  it.each([
    [
      'tiny/absent',
      /the Hub answered 404 Not Found; no repository 'tiny\/absent' with revision 'main'; check the id and --revision/,
    ],
    [
      'tiny/pytorch-only',
      /tiny\/pytorch-only@c0ffee1 has no ONNX model .*looks like a PyTorch repository.*--revision onnx/,
    ],
    ['not a repo id', /'not a repo id' is not a Hub repository id; expected owner\/name/],
  ])('%s: a clear error', async (repo, message) => {
    await expect(pullModel({ endpoint: hub.endpoint, repo, modelsDir: await modelsFolder() })).rejects.toThrow(message);
  });

  it('will not overwrite a model unless forced', async () => {
    const modelsDir = await modelsFolder();
    await pullModel({ endpoint: hub.endpoint, repo: 'tiny/sdxl-turbo', modelsDir });
    await expect(pullModel({ endpoint: hub.endpoint, repo: 'tiny/sdxl-turbo', modelsDir })).rejects.toThrow(
      /sdxl-turbo already exists; pass --force to replace it/,
    );
    await pullModel({ endpoint: hub.endpoint, repo: 'tiny/sdxl-turbo', modelsDir, force: true });
    expect(await readdir(modelsDir)).toEqual(['sdxl-turbo']);
  });

  it('from the CLI: a progress line per file, then the model is listed', async () => {
    const modelsDir = await modelsFolder();
    const env = { PIXELS_MODELS_DIR: modelsDir };
    const pulled = await runPixels(
      ['models', 'pull', 'tiny/sdxl-turbo', '--endpoint', hub.endpoint, '--name', 'turbo'],
      env,
    );
    expect(pulled.stderr).toMatch(/unet\/model\.onnx_data \([\d.]+ KB\) ok/);
    expect(pulled.stdout).toMatch(/^pulled tiny\/sdxl-turbo@c0ffee123456 into .*turbo \(22 files, [\d.]+ MB\)$/m);
    expect(pulled.code).toBe(0);
    const listed = await runPixels(['models'], env);
    expect(listed.stdout).toMatch(/^turbo {2}sdxl-turbo {2}float32 {2}64px/m);
  });
});
