import { projectLatentToRgb } from '../engine/latent-preview.ts';
import type { DiffusionModel } from '../engine/model.ts';
import type { Tensor } from '../engine/tensor.ts';
import { encodePreviewJpeg } from '../images/codec.ts';
import { imageTensorToRaw } from '../images/pixel-tensors.ts';
import type { Size } from './working-size.ts';

/** Previews fit this long side, and are never larger than the working size. */
export const PREVIEW_LONG_SIDE = 256;

/** The preview's size: the working size's aspect, at most PREVIEW_LONG_SIDE on the long side. */
export function previewSize(working: Size): Size {
  const scale = Math.min(1, PREVIEW_LONG_SIDE / Math.max(working.width, working.height));
  return {
    width: Math.max(1, Math.round(working.width * scale)),
    height: Math.max(1, Math.round(working.height * scale)),
  };
}

/**
 * A small JPEG of the current estimate: the model's linear latent → RGB projection at latent
 * resolution, upscaled to the preview's size. Only a model without a projection pays for a VAE
 * decode here; for every other model the decoder runs once, for the final image.
 */
export async function stepPreviewJpeg(model: DiffusionModel, latent: Tensor, working: Size): Promise<Uint8Array> {
  const projection = model.info.latentPreview;
  const image = projection ? projectLatentToRgb(latent, projection) : await model.decodeLatent(latent);
  const { width, height } = previewSize(working);
  return encodePreviewJpeg(imageTensorToRaw(image), width, height);
}
