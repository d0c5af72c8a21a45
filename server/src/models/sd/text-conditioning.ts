/**
 * Prompts → UNet conditioning for each family: SD 1.x/2.x take one encoder's last hidden
 * state; SDXL concatenates both encoders' penultimate hidden states (768 + 1280 = 2048) and takes
 * the pooled `text_embeds` of the second; the refiner uses the second encoder alone. For SDXL an
 * empty negative prompt becomes zero embeddings, as diffusers' `force_zeros_for_empty_prompt`.
 */
import type { Conditioning } from '../../engine/model.ts';
import type { Tensor } from '../../engine/tensor.ts';
import type { TextConditioningKind } from '../detect-family.ts';
import type { ModelSession } from '../onnx-runtime.ts';
import { CLIP_SEQUENCE_LENGTH, type ClipTokenizer } from '../tokenizer/clip-tokenizer.ts';

/** What one guidance branch feeds the UNet. */
export interface BranchConditioning {
  /** encoder_hidden_states [1, 77, D]. */
  hidden: Tensor;
  /** SDXL text_embeds [1, P]. */
  pooled?: Tensor;
  /** SDXL refiner: the aesthetic score in the time ids (6 for the prompt, 2.5 for the negative, diffusers' defaults). */
  aestheticScore?: number;
}

export interface TextConditioning extends Conditioning {
  conditional: BranchConditioning;
  unconditional?: BranchConditioning;
}

export interface TextEncoderPart {
  session: ModelSession;
  tokenizer: ClipTokenizer;
}

export const POSITIVE_AESTHETIC_SCORE = 6;
export const NEGATIVE_AESTHETIC_SCORE = 2.5;

function zerosLike(tensor: Tensor): Tensor {
  return { data: new Float32Array(tensor.data.length), shape: [...tensor.shape] };
}

/** Concatenates [1, S, A] and [1, S, B] along the last axis. */
function concatLastAxis(a: Tensor, b: Tensor): Tensor {
  const [batch, sequence, widthA] = a.shape;
  const widthB = b.shape[2];
  const data = new Float32Array(batch * sequence * (widthA + widthB));
  for (let row = 0; row < batch * sequence; row++) {
    data.set(a.data.subarray(row * widthA, (row + 1) * widthA), row * (widthA + widthB));
    data.set(b.data.subarray(row * widthB, (row + 1) * widthB), row * (widthA + widthB) + widthA);
  }
  return { data, shape: [batch, sequence, widthA + widthB] };
}

/** The penultimate hidden state: `hidden_states.{N-2}` of the N outputs `hidden_states.0..N-1`. */
export function penultimateHiddenStateName(session: ModelSession): string {
  const indices = session.outputs
    .map((output) => /^hidden_states\.(\d+)$/.exec(output.name)?.[1])
    .filter((index): index is string => index !== undefined)
    .map(Number);
  return `hidden_states.${Math.max(...indices) - 1}`;
}

export interface PromptEncoderOptions {
  kind: TextConditioningKind;
  /** Keyed by part name: text_encoder, text_encoder_2. */
  encoders: { first?: TextEncoderPart; second?: TextEncoderPart };
  /** Width of encoder_hidden_states when there is no text encoder (the built-in model). */
  hiddenWidth: number;
  zeroEmptyNegative: boolean;
  aestheticScores: boolean;
  /** Told when a prompt is cut to 77 tokens. */
  onWarning: (message: string) => void;
}

/** Encodes prompts for one model; sessions and tokenizers are loaded by the caller. */
export class PromptEncoder {
  constructor(private readonly options: PromptEncoderOptions) {}

  /** Runs one encoder; `which` names the prompt in the truncation warning (undefined: do not warn again). */
  private async run(part: TextEncoderPart, prompt: string, which: string | undefined): Promise<Record<string, Tensor>> {
    const { ids, truncated, dropped } = part.tokenizer.encode(prompt);
    if (truncated && which) {
      this.options.onWarning(
        `${which} is longer than CLIP's ${CLIP_SEQUENCE_LENGTH} tokens and was cut; dropped: "${dropped}". Shorten it to keep every word.`,
      );
    }
    return part.session.run({ input_ids: { kind: 'int', data: ids, shape: [1, ids.length] } });
  }

  private async branch(prompt: string, which: string): Promise<BranchConditioning> {
    const { kind, encoders, hiddenWidth } = this.options;
    if (kind === 'none')
      return {
        hidden: {
          data: new Float32Array(CLIP_SEQUENCE_LENGTH * hiddenWidth),
          shape: [1, CLIP_SEQUENCE_LENGTH, hiddenWidth],
        },
      };
    if (kind === 'clip') {
      const outputs = await this.run(encoders.first!, prompt, which);
      return { hidden: outputs.last_hidden_state ?? Object.values(outputs)[0] };
    }
    const second = encoders.second!;
    const secondOutputs = await this.run(second, prompt, which);
    const secondHidden = secondOutputs[penultimateHiddenStateName(second.session)];
    const pooled = secondOutputs.text_embeds;
    if (kind === 'sdxl-refiner') return { hidden: secondHidden, pooled };
    const first = encoders.first!;
    // Both tokenizers see the same text; a cut prompt is reported once.
    const firstOutputs = await this.run(first, prompt, undefined);
    return { hidden: concatLastAxis(firstOutputs[penultimateHiddenStateName(first.session)], secondHidden), pooled };
  }

  /** The prompt's conditioning, and the negative prompt's when `withUnconditional`. */
  async encode(prompt: string, negativePrompt: string, withUnconditional: boolean): Promise<TextConditioning> {
    const { kind, zeroEmptyNegative, aestheticScores } = this.options;
    const conditional = await this.branch(prompt, 'The prompt');
    if (aestheticScores) conditional.aestheticScore = POSITIVE_AESTHETIC_SCORE;
    if (!withUnconditional) return { hasUnconditional: false, conditional };
    const isSdxl = kind === 'sdxl' || kind === 'sdxl-refiner';
    let unconditional: BranchConditioning;
    if (isSdxl && zeroEmptyNegative && negativePrompt === '') {
      unconditional = {
        hidden: zerosLike(conditional.hidden),
        ...(conditional.pooled ? { pooled: zerosLike(conditional.pooled) } : {}),
      };
    } else unconditional = await this.branch(negativePrompt, 'The negative prompt');
    if (aestheticScores) unconditional.aestheticScore = NEGATIVE_AESTHETIC_SCORE;
    return { hasUnconditional: true, conditional, unconditional };
  }
}
