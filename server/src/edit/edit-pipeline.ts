import { randomInt } from 'node:crypto';
import { type EditSettings, type GrayMap, MAX_SEED, resampleMap } from '@pixels/shared';
import { editImage, totalStepCount } from '../engine/edit-image.ts';
import { createNoise } from '../engine/noise.ts';
import { createScheduler } from '../engine/schedulers/create-scheduler.ts';
import { encodePng, type RawImage, resizeRaw } from '../images/codec.ts';
import { imageTensorToRaw, rawToImageTensor } from '../images/pixel-tensors.ts';
import { addPngText } from '../images/png-text.ts';
import type { ModelRegistry } from '../models/model-registry.ts';
import { beginResultPng, compositeEditRegion, planEditRegion, regionWarnings } from './edit-region.ts';
import type { EditInputs, EditOutcome, RunOptions } from './edit-runner.ts';
import { cropInputs, decodeInputs } from './prepare-inputs.ts';
import { stepPreviewJpeg } from './step-preview.ts';
import { workingSize } from './working-size.ts';

/** The PNG text keyword under which every setting of an edit is stored. */
export const SETTINGS_PNG_KEYWORD = 'pixels';

export interface PipelineLimits {
  maxPixels: number;
  maxExemplars: number;
}

/**
 * Where the result takes the original pixels back: weight = hold = 1 - edit map, so unedited areas
 * keep their exact colours and the seam follows the map's own feathering.
 */
function pasteBack(original: RawImage, result: RawImage, editMap: GrayMap): RawImage {
  const data = new Uint8Array(result.width * result.height * 4);
  for (let i = 0; i < editMap.data.length; i++) {
    const hold = 1 - editMap.data[i];
    for (let c = 0; c < 3; c++) {
      data[i * 4 + c] = Math.round(original.data[i * 4 + c] * hold + result.data[i * 3 + c] * (1 - hold));
    }
    data[i * 4 + 3] = original.data[i * 4 + 3];
  }
  return { data, width: result.width, height: result.height, channels: 4 };
}

/** RGB result + the source's alpha, so a transparent source stays transparent where it was. */
function withSourceAlpha(original: RawImage, result: RawImage): RawImage {
  const data = new Uint8Array(result.width * result.height * 4);
  for (let i = 0; i < result.width * result.height; i++) {
    for (let c = 0; c < 3; c++) data[i * 4 + c] = result.data[i * 3 + c];
    data[i * 4 + 3] = original.data[i * 4 + 3];
  }
  return { data, width: result.width, height: result.height, channels: 4 };
}

/** A grey level the hold threshold can tell apart from black and white: a soft map. */
function hasGreys(map: GrayMap): boolean {
  return map.data.some((value) => value > 0.01 && value < 0.99);
}

function passCount(settings: EditSettings, exemplarCount: number): number {
  return settings.exemplarMode === 'iterative' ? exemplarCount : 1;
}

/**
 * Few-step models (Turbo, LCM) compare the map with only as many thresholds as steps run, so a soft
 * map collapses to that many levels: say so rather than let the gradient silently band.
 */
function mapWarnings(editMap: GrayMap, stepsPerPass: number): string[] {
  if (stepsPerPass === 0 || stepsPerPass >= 10 || !hasGreys(editMap)) return [];
  return [
    `Only ${stepsPerPass} denoising step${stepsPerPass === 1 ? '' : 's'} run, so the edit map's greys are quantised to ${stepsPerPass} level${stepsPerPass === 1 ? '' : 's'}; raise steps or strength for a smoother blend.`,
  ];
}

/** Decode → PIXELS → encode, for one request. Runs wherever it is called (the worker calls it). */
export async function runEditPipeline(
  registry: ModelRegistry,
  settings: EditSettings,
  inputs: EditInputs,
  limits: PipelineLimits,
  options: RunOptions = {},
): Promise<EditOutcome> {
  const startedAt = performance.now();
  const decoded = await decodeInputs(settings, inputs, limits.maxPixels, limits.maxExemplars);
  const region = planEditRegion(decoded, settings);
  const prepared = cropInputs(decoded, settings, region.crop);
  const model = await registry.get(settings.model);
  const seed = settings.seed ?? randomInt(0, MAX_SEED);
  const guidance = settings.guidance ?? model.info.defaultGuidance;
  const { source } = prepared;
  const size = workingSize(source, model.info.nativeSize, model.info.sizeMultiple);
  const totalSteps = totalStepCount(
    settings.steps,
    settings.strength,
    settings.exemplarMode,
    prepared.exemplars.length,
  );
  options.onStart?.({
    seed,
    totalSteps,
    ...size,
    crop: region.crop,
    warnings: [
      ...mapWarnings(prepared.editMap, totalSteps / passCount(settings, prepared.exemplars.length)),
      ...regionWarnings(region.region, region.crop, size),
    ],
  });

  const earlyPng = totalSteps > 0 ? beginResultPng(decoded.source, region) : undefined;
  let output: RawImage;
  if (totalSteps === 0) {
    output = decoded.source; // strength 0: nothing is denoised, so the source comes back untouched
  } else {
    const atWorkingSize = async (image: RawImage) => rawToImageTensor(await resizeRaw(image, size.width, size.height));
    const mapAtWorkingSize = (map: GrayMap) => resampleMap(map, size.width, size.height);
    const exemplars = [];
    for (const [k, exemplar] of prepared.exemplars.entries()) {
      exemplars.push({
        image: await atWorkingSize(exemplar),
        alpha: mapAtWorkingSize(prepared.alphas[k]),
        editMap: mapAtWorkingSize(prepared.exemplarMaps[k]),
      });
    }
    const result = await editImage({
      model,
      createScheduler: () => createScheduler(model.info.schedulerConfig),
      noise: createNoise(seed),
      source: await atWorkingSize(source),
      exemplars,
      editMap: mapAtWorkingSize(prepared.editMap),
      strength: settings.strength,
      steps: settings.steps,
      curve: settings.threshold,
      mode: settings.exemplarMode,
      prompt: settings.prompt,
      negativePrompt: settings.negativePrompt,
      guidance,
      signal: options.signal,
      onStep: async (step, stepCount, predictedOriginal) => {
        if (!options.onProgress) return;
        const elapsedMs = performance.now() - startedAt;
        const preview =
          settings.previews && predictedOriginal ? await stepPreviewJpeg(model, predictedOriginal, size) : undefined;
        options.onProgress({ step, totalSteps: stepCount, elapsedMs, ...(preview ? { preview } : {}) });
      },
    });
    const resized = await resizeRaw(imageTensorToRaw(result), source.width, source.height);
    const crop = settings.pasteBack ? pasteBack(source, resized, prepared.editMap) : withSourceAlpha(source, resized);
    output = compositeEditRegion(decoded.source, crop, region, settings.pasteBack);
  }
  const metadata = JSON.stringify({ ...settings, seed, model: settings.model, guidance });
  const encoded = earlyPng && output === decoded.source ? await earlyPng.finish() : await encodePng(output);
  const png = addPngText(encoded, SETTINGS_PNG_KEYWORD, metadata);
  return { png, width: output.width, height: output.height, seed, engineMs: performance.now() - startedAt };
}
