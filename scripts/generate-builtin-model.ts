/**
 * `tsx scripts/generate-builtin-model.ts [dir]`: writes the built-in model folder (default
 * `models/builtin` at the repository root). The server generates it on first use too; this is for
 * inspecting it or shipping it pre-built.
 */
import { join, resolve } from 'node:path';
import { generateBuiltinModel } from '@pixels/server/models/builtin/generate.ts';

const dir = resolve(process.argv[2] ?? join(import.meta.dirname, '..', 'models', 'builtin'));
const started = performance.now();
await generateBuiltinModel(dir);
console.log(`built-in model written to ${dir} in ${Math.round(performance.now() - started)} ms`);
