import { join } from 'node:path';
import type { ModelFamily } from '@pixels/shared';
import type { Conditioning, DiffusionModel, ModelInfo, PredictInput, PredictOutput } from '../../engine/model.ts';
import type { Tensor } from '../../engine/tensor.ts';
import type { ModelFolder } from '../model-folder.ts';
import type { Feed, ModelSession, SessionOptions, ValueInfo } from '../onnx-runtime.ts';
import { openSession } from '../onnx-runtime.ts';
import { ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';

/** The extra UNet input of models that condition on the request's own images (the built-in model). */
export const REFERENCE_INPUT = 'reference_sample';

interface TextConditioning extends Conditioning {
  conditional: Tensor;
  unconditional?: Tensor;
}

interface Parts {
  textEncoder?: ModelSession;
  unet: ModelSession;
  vaeEncoder?: ModelSession;
  vaeDecoder: ModelSession;
}

function numberField(config: Record<string, unknown> | undefined, key: string): number | undefined {
  const value = config?.[key];
  return typeof value === 'number' ? value : undefined;
}

function concatBatch(a: Tensor, b: Tensor): Tensor {
  const data = new Float32Array(a.data.length + b.data.length);
  data.set(a.data, 0);
  data.set(b.data, a.data.length);
  return { data, shape: [a.shape[0] + b.shape[0], ...a.shape.slice(1)] };
}

function splitBatch(batch: Tensor): [Tensor, Tensor] {
  const half = batch.data.length / 2;
  const shape = [1, ...batch.shape.slice(1)];
  return [
    { data: batch.data.slice(0, half), shape },
    { data: batch.data.slice(half), shape },
  ];
}

/** The timestep as the UNet declares it: a scalar or one per batch row, float or int. */
function timestepFeed(info: ValueInfo, timestep: number, batch: number): Feed {
  const shape = info.shape.length === 0 ? [] : [batch];
  const values = new Array(Math.max(1, shape[0] ?? 1)).fill(timestep);
  return info.type === 'int64' || info.type === 'int32'
    ? { kind: 'int', data: values.map(Math.round), shape }
    : { kind: 'float', tensor: { data: Float32Array.from(values), shape } };
}

/** An SD-shaped ONNX model (text encoder, UNet, VAE) behind the engine's model interface. */
export class StableDiffusionModel implements DiffusionModel {
  private constructor(
    readonly info: ModelInfo,
    private readonly parts: Parts,
    private readonly tokenizer: ClipTokenizer | undefined,
    private readonly scalingFactor: number,
  ) {}

  static async load(folder: ModelFolder, options: SessionOptions): Promise<StableDiffusionModel> {
    const open = (relative: string | undefined) => (relative ? openSession(join(folder.dir, relative), options) : undefined);
    const unet = (await open(folder.parts.unet))!;
    const vaeDecoder = (await open(folder.parts.vae_decoder))!;
    const parts: Parts = {
      unet,
      vaeDecoder,
      vaeEncoder: await open(folder.parts.vae_encoder),
      textEncoder: await open(folder.parts.text_encoder),
    };
    const tokenizer = folder.tokenizers.includes('tokenizer') ? await ClipTokenizer.load(join(folder.dir, 'tokenizer')) : undefined;
    const vaeConfig = folder.configs.vae_decoder ?? folder.configs.vae_encoder;
    const blockOutChannels = vaeConfig?.block_out_channels;
    const vaeScaleFactor = Array.isArray(blockOutChannels) ? 2 ** (blockOutChannels.length - 1) : 8;
    const latentChannels = numberField(vaeConfig, 'latent_channels') ?? numberField(folder.configs.unet, 'in_channels') ?? 4;
    const isBuiltin = unet.inputs.some((input) => input.name === REFERENCE_INPUT);
    const family: ModelFamily = isBuiltin ? 'builtin' : 'sd1';
    const nativeSize =
      numberField(vaeConfig, 'sample_size') ?? (numberField(folder.configs.unet, 'sample_size') ?? 64) * vaeScaleFactor;
    const dtype = unet.inputs.find((input) => input.name === 'sample')?.type === 'float16' ? 'float16' : 'float32';
    const info: ModelInfo = {
      name: folder.name,
      family,
      nativeSize,
      sizeMultiple: vaeScaleFactor,
      dtype,
      scheduler: String(folder.schedulerConfig._class_name ?? 'DDIMScheduler'),
      defaultGuidance: isBuiltin ? 1 : 7.5,
      usesPrompt: !isBuiltin,
      description: isBuiltin
        ? 'Built-in preview model: an analytic patch-prior denoiser conditioned on your own images (no learned weights; prompts have no effect).'
        : 'Stable Diffusion (ONNX)',
      parts: Object.fromEntries(Object.entries(folder.parts)),
      latentChannels,
      vaeScaleFactor,
      schedulerConfig: folder.schedulerConfig,
      guidanceMode: isBuiltin ? 'none' : 'classifier-free',
    };
    return new StableDiffusionModel(info, parts, tokenizer, numberField(vaeConfig, 'scaling_factor') ?? 0.18215);
  }

  async encodeImage(image: Tensor): Promise<Tensor> {
    const encoder = this.parts.vaeEncoder;
    if (!encoder) throw new Error(`${this.info.name}: the model has no vae_encoder, so it cannot edit images`);
    const outputs = await encoder.run({ sample: { kind: 'float', tensor: image } });
    const parameters = outputs.latent_parameters ?? outputs.latent_sample ?? Object.values(outputs)[0];
    const [batch, channels, height, width] = parameters.shape;
    const meanChannels = outputs.latent_parameters ? channels / 2 : channels;
    // latent_parameters = mean ‖ log-variance: the mean is the first half of the channels.
    const plane = height * width;
    const latent = new Float32Array(batch * meanChannels * plane);
    for (let b = 0; b < batch; b++) {
      for (let i = 0; i < meanChannels * plane; i++) {
        latent[b * meanChannels * plane + i] = parameters.data[b * channels * plane + i] * this.scalingFactor;
      }
    }
    return { data: latent, shape: [batch, meanChannels, height, width] };
  }

  async decodeLatent(latent: Tensor): Promise<Tensor> {
    const scaled = Float32Array.from(latent.data, (value) => value / this.scalingFactor);
    const outputs = await this.parts.vaeDecoder.run({ latent_sample: { kind: 'float', tensor: { data: scaled, shape: latent.shape } } });
    return outputs.sample ?? Object.values(outputs)[0];
  }

  private async embed(prompt: string): Promise<Tensor> {
    const { textEncoder } = this.parts;
    if (!textEncoder || !this.tokenizer) throw new Error(`${this.info.name}: the model has no text encoder or tokenizer`);
    const { ids } = this.tokenizer.encode(prompt);
    const outputs = await textEncoder.run({ input_ids: { kind: 'int', data: ids, shape: [1, ids.length] } });
    return outputs.last_hidden_state ?? Object.values(outputs)[0];
  }

  async encodePrompt(prompt: string, negativePrompt: string, withUnconditional: boolean): Promise<Conditioning> {
    const conditional = await this.embed(prompt);
    const conditioning: TextConditioning = { hasUnconditional: withUnconditional, conditional };
    if (withUnconditional) conditioning.unconditional = await this.embed(negativePrompt);
    return conditioning;
  }

  async predict(input: PredictInput): Promise<PredictOutput> {
    const conditioning = input.conditioning as TextConditioning;
    const both = input.branches === 'both' && conditioning.unconditional !== undefined;
    const batch = both ? 2 : 1;
    const stack = (tensor: Tensor) => (both ? concatBatch(tensor, tensor) : tensor);
    const hidden = both ? concatBatch(conditioning.unconditional!, conditioning.conditional) : conditioning.conditional;
    const feeds: Record<string, Feed> = {};
    for (const info of this.parts.unet.inputs) {
      if (info.name === 'sample') feeds.sample = { kind: 'float', tensor: stack(input.sample) };
      else if (info.name === 'timestep') feeds.timestep = timestepFeed(info, input.timestep, batch);
      else if (info.name === 'encoder_hidden_states') feeds.encoder_hidden_states = { kind: 'float', tensor: hidden };
      else if (info.name === REFERENCE_INPUT) feeds[REFERENCE_INPUT] = { kind: 'float', tensor: stack(input.reference) };
      else throw new Error(`${this.parts.unet.path}: unexpected UNet input '${info.name}'`);
    }
    const outputs = await this.parts.unet.run(feeds);
    const prediction = outputs.out_sample ?? Object.values(outputs)[0];
    if (!both) return { conditional: prediction };
    const [unconditional, conditional] = splitBatch(prediction);
    return { conditional, unconditional };
  }

  async release(): Promise<void> {
    for (const session of Object.values(this.parts)) await session?.release();
  }
}
