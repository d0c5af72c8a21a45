import { randomInt } from 'node:crypto';
import { type EditSettings, type GrayMap, MAX_SEED, PixelsError, resampleMap } from '@pixels/shared';
import { editImage } from '../engine/edit-image.ts';
import { planEdit } from '../engine/edit-plan.ts';
import type { ModelInfo } from '../engine/model.ts';
import { createNoise } from '../engine/noise.ts';
import { createScheduler } from '../engine/schedulers/create-scheduler.ts';
import { encodePng, type RawImage, resizeRaw } from '../images/codec.ts';
import { imageTensorToRaw, rawToImageTensor } from '../images/pixel-tensors.ts';
import { encodeOverSource, type PendingPng } from '../images/png-encoder.ts';
import { addPngText } from '../images/png-text.ts';
import { type FrameRows, isWholeFrame } from '../images/raw-rect.ts';
import { beginReadingSource, type SourceRows } from '../images/source-rows.ts';
import type { ModelRegistry } from '../models/model-registry.ts';
import {
  beginResultPng,
  compositeEditRegion,
  cropRows,
  type EditRegion,
  planEditRegion,
  regionWarnings,
} from './edit-region.ts';
import type { EditInputs, EditOutcome, RunOptions } from './edit-runner.ts';
import { pasteBack, withSourceAlpha } from './paste-back.ts';
import { cropInputs, type DecodedInputs, decodeInputs, type ReadSourceRows } from './prepare-inputs.ts';
import { stepPreviewJpeg } from './step-preview.ts';
import { PIXEL_SPACE_MAX_PIXELS, type Size, workingSizeFor } from './working-size.ts';

/** The PNG text keyword under which every setting of an edit is stored. */
export const SETTINGS_PNG_KEYWORD = 'pixels';

export interface PipelineLimits {
  maxPixels: number;
  maxExemplars: number;
}

/** A grey level the hold threshold can tell apart from black and white: a soft map. */
function hasGreys(map: GrayMap): boolean {
  return map.data.some((value) => value > 0.01 && value < 0.99);
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

/** What the run does with the request that it did not spell out: a prompt ignored, another working size. */
function runNotes(settings: EditSettings, info: ModelInfo, source: Size, size: Size, whole: boolean): string[] {
  const what = whole ? "the source's" : "the edit region's";
  const notes: string[] = [];
  if (!info.usesPrompt && (settings.prompt !== '' || settings.negativePrompt !== '')) {
    notes.push(
      `Model '${settings.model}' does not use text (its metadata says so: it is conditioned on the images alone), so the prompt is ignored.`,
    );
  }
  if (size.width !== source.width || size.height !== source.height) {
    const multiple = info.sizeMultiple > 1 ? `, sides multiples of ${info.sizeMultiple}` : '';
    const why =
      info.vaeScaleFactor === 1
        ? `a pixel-space model works at the image's own size up to ${PIXEL_SPACE_MAX_PIXELS} pixels (its time budget)${multiple}`
        : `its native ${info.nativeSize}x${info.nativeSize} area at the same aspect${multiple}`;
    notes.push(
      `The model works at ${size.width}x${size.height}, not ${what} ${source.width}x${source.height}: ${why}. ` +
        `The result is scaled back to ${source.width}x${source.height}.`,
    );
  }
  return notes;
}

/**
 * The result's PNG: over the source's own stream when only its rows were read (once the rest of
 * the source is checked), from the encode begun before the model when the source was decoded
 * whole, or else encoded whole.
 */
async function encodeResult(
  output: RawImage,
  sourceRows: FrameRows,
  frame: Size,
  region: EditRegion,
  overSource: SourceRows | undefined,
  earlyPng: PendingPng | undefined,
): Promise<Uint8Array> {
  if (overSource) {
    try {
      await overSource.checked;
    } catch (error) {
      throw new PixelsError(
        'invalid_image',
        'The source image could not be decoded: its pixel data is damaged. Export it again and resend.',
        'source',
        { cause: error },
      );
    }
    return encodeOverSource(frame, sourceRows.image, sourceRows.top, cropRows(region), overSource.reused);
  }
  return earlyPng && output === sourceRows.image ? earlyPng.finish() : encodePng(output);
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
  // An unknown or broken model is named before the inputs are checked (reading its configs takes milliseconds).
  const description = await registry.describe(settings.model);
  // A plain RGBA source PNG need not be decoded whole: its stream is inflated while the exemplars
  // and the map decode, the region is planned once they are placed, and only the crop's rows are
  // read (see images/source-rows.ts), from the inflate that finds the source's compressed rows
  // outside them to reuse in the result.
  const reader = settings.region === 'auto' ? beginReadingSource(inputs.source, limits.maxPixels) : undefined;
  let planned: EditRegion | undefined;
  let overSource: SourceRows | undefined;
  const readRows: ReadSourceRows = async (layout) => {
    planned = planEditRegion(layout, settings, description.info);
    if (!reader || isWholeFrame(planned.crop, layout.source)) return undefined;
    overSource = await reader.rowsFor(layout.source, cropRows(planned));
    return overSource?.rows;
  };
  let decoded: DecodedInputs;
  try {
    decoded = await decodeInputs(
      settings,
      inputs,
      limits.maxPixels,
      limits.maxExemplars,
      reader ? readRows : undefined,
    );
  } finally {
    reader?.close();
  }
  const frame = decoded.source;
  const region = planned ?? planEditRegion(decoded, settings, description.info);
  const prepared = cropInputs(decoded, settings, region.crop);
  const model = await registry.get(settings.model);
  const seed = settings.seed ?? randomInt(0, MAX_SEED);
  const plan = planEdit({ ...settings, exemplarCount: prepared.exemplars.length }, model.info);
  const { source } = prepared;
  const size = workingSizeFor(source, model.info, limits.maxPixels);
  options.onStart?.({
    seed,
    totalSteps: plan.totalSteps,
    ...size,
    crop: region.crop,
    warnings: [
      ...mapWarnings(prepared.editMap, plan.stepsPerPass),
      ...regionWarnings(region.region, region.crop, size),
    ],
    notes: [...prepared.notes, ...runNotes(settings, model.info, source, size, isWholeFrame(region.crop, frame))],
  });

  const { sourceRows } = decoded;
  const earlyPng = overSource || plan.totalSteps === 0 ? undefined : beginResultPng(sourceRows.image, region);
  let output = sourceRows.image; // strength 0: nothing is denoised, so the source comes back untouched
  if (plan.totalSteps > 0) {
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
      plan,
      curve: settings.threshold,
      prompt: settings.prompt,
      negativePrompt: settings.negativePrompt,
      signal: options.signal,
      onStep: async (step, stepCount, predictedOriginal) => {
        if (!options.onProgress) return;
        const elapsedMs = performance.now() - startedAt;
        const preview = settings.previews ? await stepPreviewJpeg(model, predictedOriginal, size) : undefined;
        options.onProgress({ step, totalSteps: stepCount, elapsedMs, ...(preview ? { preview } : {}) });
        // A turn of the event loop between steps: the model's run blocks the thread and promises
        // resolve without one, so a cancel message posted to the worker would wait for the end.
        await new Promise((resolve) => setImmediate(resolve));
      },
    });
    const resized = await resizeRaw(imageTensorToRaw(result), source.width, source.height);
    const crop = settings.pasteBack ? pasteBack(source, resized, prepared.editMap) : withSourceAlpha(source, resized);
    output = compositeEditRegion(sourceRows, frame, crop, region, settings.pasteBack);
  }
  const metadata = JSON.stringify({ ...settings, seed, model: settings.model, guidance: plan.guidance });
  const encoded = await encodeResult(output, sourceRows, frame, region, overSource, earlyPng);
  const png = addPngText(encoded, SETTINGS_PNG_KEYWORD, metadata);
  return { png, ...frame, seed, engineMs: performance.now() - startedAt };
}
