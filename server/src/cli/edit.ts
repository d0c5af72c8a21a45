import { parseArgs } from 'node:util';
import {
  DEFAULT_LIMITS,
  EditSettings,
  type EditSettingsInput,
  FIT_MODES,
  PixelsError,
  REGION_MODES,
  THRESHOLD_CURVES,
} from '@pixels/shared';
import { createEditRunner } from '../edit/create-edit-runner.ts';
import { EditFailed } from '../edit/edit-failure.ts';
import { DEVICE_SPELLINGS, type DeviceSpec, parseDeviceSpec } from '../models/devices.ts';
import {
  CliError,
  checkWritable,
  createProgressReporter,
  DEFAULT_MODELS_DIR,
  readInputFile,
  resolveUserPath,
  writeFileAtomically,
} from './cli-support.ts';

export const EDIT_USAGE = `usage: pixels edit --source F --exemplar F [--exemplar F ...] [--map F] --out F.png [options]

  --source F            the image to edit (PNG, JPEG or WebP)
  --exemplar F          an exemplar placed in the source frame; repeat for more, bottom layer first
  --map F               edit map, white = change fully, black = keep (any colour; read as luminance).
                        Without it the map is the exemplars' alpha, its edge moved out by --grow px
                        and softened over a --feather px band centred on the edge (defaults 0 and 32)
  --invert-map          the map is white = keep instead
  --prompt T            text prompt (the built-in model ignores it)
  --negative-prompt T
  --guidance N          classifier-free guidance scale (default: the model's own)
  --strength X          0..1, how far up the noise schedule to start (default 0.6; 0 returns the source)
  --steps N             scheduler steps at strength 1 (default 20)
  --threshold CURVE     ${THRESHOLD_CURVES.join(' | ')} (default linear)
  --seed N              0..4294967295 (default: random, printed)
  --model NAME|DIR      a model name from 'pixels models' or a model folder (default builtin)
  --device D            auto | cpu | cuda:N | webgpu (default auto: CUDA when its provider loads, else CPU)
  --fit MODE            ${FIT_MODES.join(' | ')}: how an exemplar of another size is placed (default contain)
  --grow PX, --feather PX
  --no-paste-back       keep the model's pixels where the map keeps the source
  --region MODE         ${REGION_MODES.join(' | ')}: auto (default) processes only the region the edit touches plus
                        context, at the model's working size, and puts it back at full resolution;
                        full scales the whole source to the working size and back
  --region-margin PX    context around the edit region (default: 32 on a pixel-space model such as
                        the built-in one, where an exemplar covers it; else 1/8 of the region's long side, at least 32)
  --iterative           one pass per exemplar, each pass's output the next one's source
  --out F               where to write the PNG (written whole or not at all)

Relative paths are taken from the folder you run the command in. Everything is checked before
the first step: the input files, the model, the map and that --out's folder can be written.`;

/** Which flag each settings field comes from, for error messages. */
const FLAG_OF: Record<string, string> = {
  model: '--model',
  prompt: '--prompt',
  negativePrompt: '--negative-prompt',
  guidance: '--guidance',
  strength: '--strength',
  steps: '--steps',
  threshold: '--threshold',
  seed: '--seed',
  fit: '--fit',
  grow: '--grow',
  feather: '--feather',
  region: '--region',
  regionMargin: '--region-margin',
};

function parseNumber(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) throw new CliError(`${flag} must be a number, got '${text}'.`, 2);
  return value;
}

const NEGATIVE_NUMBER = /^-\.?\d/;

/** `--steps -4` would read as an option named -4: glue negative numbers to the option before them. */
function glueNegativeNumbers(argv: string[]): string[] {
  const out: string[] = [];
  for (const token of argv) {
    const previous = out.at(-1);
    if (NEGATIVE_NUMBER.test(token) && previous?.startsWith('--') && !previous.includes('=')) {
      out[out.length - 1] = `${previous}=${token}`;
    } else {
      out.push(token);
    }
  }
  return out;
}

/** Parses argv into validated settings; every problem is one line naming the flag. */
export function parseEditArguments(argv: string[]) {
  let parsed: ReturnType<typeof parse>;
  const args = glueNegativeNumbers(argv);
  function parse() {
    return parseArgs({
      args,
      strict: true,
      options: {
        source: { type: 'string' },
        exemplar: { type: 'string', multiple: true },
        map: { type: 'string' },
        'invert-map': { type: 'boolean' },
        prompt: { type: 'string' },
        'negative-prompt': { type: 'string' },
        guidance: { type: 'string' },
        strength: { type: 'string' },
        steps: { type: 'string' },
        threshold: { type: 'string' },
        seed: { type: 'string' },
        model: { type: 'string' },
        device: { type: 'string' },
        fit: { type: 'string' },
        grow: { type: 'string' },
        feather: { type: 'string' },
        'no-paste-back': { type: 'boolean' },
        region: { type: 'string' },
        'region-margin': { type: 'string' },
        iterative: { type: 'boolean' },
        out: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  }
  try {
    parsed = parse();
  } catch (error) {
    throw new CliError(`${(error as Error).message.split('\n')[0]} (see pixels edit --help)`, 2);
  }
  const { values } = parsed;
  if (values.help) return { help: true as const };
  if (!values.source) throw new CliError('--source is required: the image to edit.', 2);
  if (!values.exemplar?.length) throw new CliError('--exemplar is required: at least one exemplar image.', 2);
  if (!values.out) throw new CliError('--out is required: where to write the result PNG.', 2);
  const device: DeviceSpec | undefined = parseDeviceSpec(values.device ?? 'auto');
  if (!device) throw new CliError(`--device must be one of ${DEVICE_SPELLINGS}, got '${values.device}'.`, 2);
  const input: EditSettingsInput = {
    model: values.model,
    prompt: values.prompt,
    negativePrompt: values['negative-prompt'],
    guidance: parseNumber('--guidance', values.guidance),
    strength: parseNumber('--strength', values.strength),
    steps: parseNumber('--steps', values.steps),
    threshold: values.threshold as EditSettingsInput['threshold'],
    seed: parseNumber('--seed', values.seed),
    fit: values.fit as EditSettingsInput['fit'],
    grow: parseNumber('--grow', values.grow),
    feather: parseNumber('--feather', values.feather),
    invertMap: values['invert-map'],
    pasteBack: values['no-paste-back'] ? false : undefined,
    region: values.region as EditSettingsInput['region'],
    regionMargin: parseNumber('--region-margin', values['region-margin']),
    exemplarMode: values.iterative ? 'iterative' : undefined,
  };
  const result = EditSettings.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = String(issue.path[0]);
    const flag = FLAG_OF[field] ?? field;
    const got = (input as Record<string, unknown>)[field];
    throw new CliError(`${flag}: ${issue.message.replace(/^Invalid input: /, '')} (got ${JSON.stringify(got)}).`, 2);
  }
  // A model given as a path is the user's path; a bare name is looked up in the models folder.
  const model = result.data.model;
  const isModelPath = model.includes('/') || model.startsWith('.');
  return {
    help: false as const,
    settings: isModelPath ? { ...result.data, model: resolveUserPath(model) } : result.data,
    source: resolveUserPath(values.source),
    exemplars: values.exemplar.map(resolveUserPath),
    map: values.map === undefined ? undefined : resolveUserPath(values.map),
    out: resolveUserPath(values.out),
    device,
  };
}

export async function runEdit(argv: string[]): Promise<number> {
  let runner: ReturnType<typeof createEditRunner> | undefined;
  try {
    const args = parseEditArguments(argv);
    if (args.help) {
      console.log(EDIT_USAGE);
      return 0;
    }
    if (!args.out.toLowerCase().endsWith('.png'))
      throw new CliError(`--out ${args.out}: the result is a PNG; name the file .png.`, 2);
    // Before any work: a result that cannot be written is found now, not after the whole edit.
    await checkWritable(args.out, '--out');
    const inputs = {
      source: await readInputFile(args.source, '--source'),
      exemplars: await Promise.all(args.exemplars.map((path) => readInputFile(path, '--exemplar'))),
      map: args.map ? await readInputFile(args.map, '--map') : undefined,
    };
    runner = createEditRunner({ modelsDir: DEFAULT_MODELS_DIR, device: args.device, limits: DEFAULT_LIMITS });
    const progress = createProgressReporter();
    const outcome = await runner.run(args.settings, inputs, {
      onStart: (start) => {
        console.error(
          `model ${args.settings.model}, ${start.width}x${start.height}, seed ${start.seed}, ${start.totalSteps} steps`,
        );
        const { crop } = start;
        console.error(
          `region ${args.settings.region}: ${crop.width}x${crop.height} at (${crop.left}, ${crop.top}) processed at ${start.width}x${start.height}`,
        );
        for (const note of start.notes) console.error(`note: ${note}`);
        for (const warning of start.warnings) console.error(`warning: ${warning}`);
      },
      onProgress: (step) => progress.step(step.step, step.totalSteps, step.elapsedMs),
    });
    await writeFileAtomically(args.out, outcome.png);
    console.log(
      `wrote ${args.out} (${outcome.width}x${outcome.height}, seed ${outcome.seed}, ${(outcome.engineMs / 1000).toFixed(1)}s)`,
    );
    return 0;
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`pixels edit: ${error.message}`);
      return error.exitCode;
    }
    if (error instanceof PixelsError) {
      console.error(`pixels edit: ${error.message}`);
      return 1;
    }
    if (error instanceof EditFailed) {
      // A local run: the detail is the user's own, so it is shown too.
      const { code, message, detail, reason } = error.failure;
      // The device's own words say what is missing on this machine; the server's wording is for remote clients.
      if (code === 'device_unavailable' && detail) console.error(`pixels edit: ${detail}`);
      else console.error(`pixels edit: ${message}${reason === 'bad_input' || !detail ? '' : `\n${detail}`}`);
      return 1;
    }
    console.error(`pixels edit: internal error: ${(error as Error).stack ?? error}`);
    return 1;
  } finally {
    await runner?.close();
  }
}
