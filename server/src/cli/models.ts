import { parseArgs } from 'node:util';
import { createEditRunner } from '../edit/create-edit-runner.ts';
import { DEFAULT_MODELS_DIR } from './cli-support.ts';

const MODELS_USAGE = `usage: pixels models [--json]

Lists the models in ${DEFAULT_MODELS_DIR} (set PIXELS_MODELS_DIR to use another folder).`;

export async function runModels(argv: string[]): Promise<number> {
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log(MODELS_USAGE);
    return 0;
  }
  const runner = createEditRunner({ modelsDir: DEFAULT_MODELS_DIR });
  try {
    const models = await runner.listModels();
    if (values.json) {
      console.log(JSON.stringify({ models }, null, 2));
      return 0;
    }
    for (const model of models) {
      console.log(`${model.name}  ${model.family}  ${model.dtype}  ${model.nativeSize}px  ${model.scheduler}`);
      console.log(`  ${model.description}`);
      for (const [part, path] of Object.entries(model.parts)) console.log(`  ${part}: ${path}`);
    }
    return 0;
  } catch (error) {
    console.error(`pixels models: ${(error as Error).message}`);
    return 1;
  } finally {
    await runner.close();
  }
}
