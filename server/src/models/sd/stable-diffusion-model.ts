import { PixelsError } from '@pixels/shared';
import type { Conditioning, DiffusionModel, ModelInfo, PredictInput, PredictOutput } from '../../engine/model.ts';
import type { Tensor } from '../../engine/tensor.ts';
import type { ModelDescription } from '../describe-model.ts';
import { fixedDim, inputNamed } from '../detect-family.ts';
import type { PartName } from '../model-folder.ts';
import { type ModelSession, openSession, type SessionOptions } from '../onnx-runtime.ts';
import { ClipTokenizer, END_OF_TEXT } from '../tokenizer/clip-tokenizer.ts';
import { PromptEncoder, type TextEncoderPart } from './text-conditioning.ts';
import { UnetRunner } from './unet-runner.ts';

/** SD 2.x's OpenCLIP and SDXL's second encoder pad with '!' (id 0); CLIP ViT-L pads with end-of-text. */
const OPEN_CLIP_PAD = '!';

export interface ModelLoadOptions extends SessionOptions {
  /** Told about recoverable problems (a prompt cut to 77 tokens). Default: console.warn. */
  onWarning?: (message: string) => void;
}

/** Every SD-family ONNX model (SD 1.x/2.x, SDXL base and refiner, Turbo, LCM, the built-in one) behind the engine's interface. */
export class StableDiffusionModel implements DiffusionModel {
  private constructor(
    readonly info: ModelInfo,
    /** The open sessions by part (the benchmark reads their stats). */
    readonly sessions: Partial<Record<PartName, ModelSession>>,
    private readonly description: ModelDescription,
    private readonly prompts: PromptEncoder,
    private readonly unet: UnetRunner,
  ) {}

  /** Opens every part's session (once; the registry keeps the model) and its tokenizers. */
  static async load(description: ModelDescription, options: ModelLoadOptions): Promise<StableDiffusionModel> {
    const { folder, traits, info } = description;
    const sessions: Partial<Record<PartName, ModelSession>> = {};
    try {
      for (const [part, source] of Object.entries(folder.parts))
        sessions[part as PartName] = await openSession(source.file, options);
      const encoders: { first?: TextEncoderPart; second?: TextEncoderPart } = {};
      const needsFirst = traits.conditioning === 'clip' || traits.conditioning === 'sdxl';
      const needsSecond = traits.conditioning === 'sdxl' || traits.conditioning === 'sdxl-refiner';
      if (needsFirst && sessions.text_encoder && folder.tokenizers.tokenizer) {
        const isOpenClip = traits.family === 'sd2' || traits.family === 'sd-turbo';
        encoders.first = {
          session: sessions.text_encoder,
          tokenizer: await ClipTokenizer.load(folder.tokenizers.tokenizer, isOpenClip ? OPEN_CLIP_PAD : END_OF_TEXT),
        };
      }
      if (needsSecond && sessions.text_encoder_2 && folder.tokenizers.tokenizer_2) {
        encoders.second = {
          session: sessions.text_encoder_2,
          tokenizer: await ClipTokenizer.load(folder.tokenizers.tokenizer_2, OPEN_CLIP_PAD),
        };
      }
      const prompts = new PromptEncoder({
        kind: traits.conditioning,
        encoders,
        hiddenWidth: fixedDim(inputNamed(description.metadata.unet, 'encoder_hidden_states'), 2) ?? 768,
        zeroEmptyNegative: description.zeroEmptyNegative,
        aestheticScores: description.aestheticScores,
        onWarning: options.onWarning ?? ((message) => console.warn(`pixels: ${info.name}: ${message}`)),
      });
      const unet = new UnetRunner(sessions.unet!, {
        pixelsPerLatent: info.vaeScaleFactor,
        timeIdCount: description.timeIdCount,
        guidanceEmbeddingSize: description.guidanceEmbeddingSize,
      });
      return new StableDiffusionModel(info, sessions, description, prompts, unet);
    } catch (error) {
      for (const session of Object.values(sessions)) await session.release();
      throw error;
    }
  }

  /** Image [1, 3, H, W] in [-1, 1] → the posterior mean, times the VAE scaling factor. */
  async encodeImage(image: Tensor): Promise<Tensor> {
    const encoder = this.sessions.vae_encoder!;
    const outputs = await encoder.run({ sample: { kind: 'float', tensor: image } });
    const parameters = outputs.latent_parameters ?? outputs.latent_sample ?? Object.values(outputs)[0];
    const [batch, channels, height, width] = parameters.shape;
    // latent_parameters = mean ‖ log-variance: the mean is the first half of the channels.
    const meanChannels = outputs.latent_parameters ? channels / 2 : channels;
    const plane = height * width;
    const scale = this.description.scalingFactor;
    const latent = new Float32Array(batch * meanChannels * plane);
    for (let b = 0; b < batch; b++) {
      const from = b * channels * plane;
      const to = b * meanChannels * plane;
      for (let i = 0; i < meanChannels * plane; i++) latent[to + i] = parameters.data[from + i] * scale;
    }
    return { data: latent, shape: [batch, meanChannels, height, width] };
  }

  /** Scaled latent → image [1, 3, H, W] in [-1, 1]; refuses NaN or infinite pixels (an overflowing fp16 VAE). */
  async decodeLatent(latent: Tensor): Promise<Tensor> {
    const decoder = this.sessions.vae_decoder!;
    const scale = this.description.scalingFactor;
    const unscaled = new Float32Array(latent.data.length);
    for (let i = 0; i < unscaled.length; i++) unscaled[i] = latent.data[i] / scale;
    const outputs = await decoder.run({
      latent_sample: { kind: 'float', tensor: { data: unscaled, shape: latent.shape } },
    });
    const image = outputs.sample ?? Object.values(outputs)[0];
    // Any NaN or infinity makes the sum non-finite; decoded pixels are far too small to overflow it.
    let sum = 0;
    for (let i = 0; i < image.data.length; i++) sum += image.data[i];
    if (!Number.isFinite(sum)) {
      throw new PixelsError(
        'model_error',
        `${decoder.path}: the VAE decoder produced NaN or infinite pixels. An fp16 VAE overflows this way (SDXL's does): ` +
          'use an fp32 VAE export or the fp16-fix VAE (pair it in pixels-model.json, see server/MODELS.md).',
      );
    }
    return image;
  }

  encodePrompt(prompt: string, negativePrompt: string, withUnconditional: boolean): Promise<Conditioning> {
    return this.prompts.encode(prompt, negativePrompt, withUnconditional);
  }

  predict(input: PredictInput): Promise<PredictOutput> {
    return this.unet.predict(input);
  }

  async release(): Promise<void> {
    for (const session of Object.values(this.sessions)) await session.release();
  }
}
