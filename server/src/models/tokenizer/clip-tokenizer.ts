import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { PixelsError } from '@pixels/shared';
import { fileExists } from '../../util/files.ts';

/** CLIP's context length: every prompt becomes exactly this many ids. */
export const CLIP_SEQUENCE_LENGTH = 77;
const START_TOKEN = '<|startoftext|>';
const END_TOKEN = '<|endoftext|>';

export interface TokenizedPrompt {
  /** Exactly CLIP_SEQUENCE_LENGTH ids: start, tokens, end, padding. */
  ids: number[];
  /** Whether the prompt was cut to fit (its end was dropped). */
  truncated: boolean;
  /** The text of the dropped tokens ('' when nothing was cut). */
  dropped: string;
}

/** CLIP's end-of-text token, SD 1.x's pad. */
export const END_OF_TEXT = END_TOKEN;

/** CLIP byte-level BPE, as a Hugging Face `tokenizer.json` describes it (normalise, split, byte-level, BPE with `</w>`). */
function clipTokenizerJson(vocab: Record<string, number>, merges: string[]): Record<string, unknown> {
  const special = (content: string) => ({
    id: vocab[content],
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: true,
    special: true,
  });
  return {
    version: '1.0',
    added_tokens: [special(START_TOKEN), special(END_TOKEN)],
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'NFC' },
        { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' },
        { type: 'Lowercase' },
      ],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex:
              "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
          },
          behavior: 'Removed',
          invert: true,
        },
        { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: false },
      ],
    },
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: END_TOKEN,
      continuing_subword_prefix: '',
      end_of_word_suffix: '</w>',
      fuse_unk: false,
      vocab,
      merges,
    },
  };
}

/** Reads `merges.txt`: one "a b" pair a line after the `#version` header. */
function parseMerges(text: string): string[] {
  return text
    .split('\n')
    .filter((line) => line.length > 0 && !line.startsWith('#version'))
    .map((line) => line.trimEnd());
}

async function readJsonFile(path: string, folder: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new PixelsError(
      'model_error',
      `${path}: missing; a tokenizer folder needs vocab.json and merges.txt (or tokenizer.json). Download ${folder} from the model's Hub repository.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PixelsError('model_error', `${path}: not valid JSON (${(error as Error).message}); download it again.`);
  }
}

/**
 * The CLIP tokenizer of one text encoder, from a `tokenizer/` folder: `tokenizer.json` when present,
 * else `vocab.json` + `merges.txt` (the usual Optimum export). The pad token comes from
 * `tokenizer_config.json`, else `defaultPad`, the family's: `<|endoftext|>` for SD 1.x and SDXL's
 * first encoder, `!` (id 0) for SD 2.x and SDXL's second.
 */
export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly startId: number,
    private readonly endId: number,
    private readonly padId: number,
  ) {}

  static async load(folder: string, defaultPad: string = END_TOKEN): Promise<ClipTokenizer> {
    const configPath = join(folder, 'tokenizer_config.json');
    const config = (await fileExists(configPath)) ? await readJsonFile(configPath, folder) : {};
    const jsonPath = join(folder, 'tokenizer.json');
    let definition: Record<string, unknown>;
    let vocab: Record<string, number>;
    if (await fileExists(jsonPath)) {
      definition = await readJsonFile(jsonPath, folder);
      definition.post_processor = null;
      vocab = (definition.model as { vocab: Record<string, number> }).vocab;
    } else {
      vocab = (await readJsonFile(join(folder, 'vocab.json'), folder)) as Record<string, number>;
      const mergesPath = join(folder, 'merges.txt');
      const merges = await readFile(mergesPath, 'utf8').catch(() => {
        throw new PixelsError(
          'model_error',
          `${mergesPath}: missing; the tokenizer needs it beside vocab.json. Download ${folder} again.`,
        );
      });
      definition = clipTokenizerJson(vocab, parseMerges(merges));
    }
    const idOf = (token: string, what: string) => {
      const id = vocab[token];
      if (id === undefined) {
        throw new PixelsError(
          'model_error',
          `${folder}: the vocabulary has no ${what} token '${token}'; is this a CLIP tokenizer?`,
        );
      }
      return id;
    };
    const configuredPad = config.pad_token as string | { content?: string } | undefined;
    const padToken = typeof configuredPad === 'string' ? configuredPad : (configuredPad?.content ?? defaultPad);
    return new ClipTokenizer(
      new Tokenizer(definition as never, { ...config, add_bos_token: false, add_eos_token: false } as never),
      idOf(START_TOKEN, 'start'),
      idOf(END_TOKEN, 'end'),
      idOf(padToken, 'pad'),
    );
  }

  /** Start token, the prompt's tokens (cut to fit), end token, then padding to 77 ids. */
  encode(prompt: string): TokenizedPrompt {
    const tokens = this.tokenizer.encode(prompt, { add_special_tokens: false } as never).ids;
    const room = CLIP_SEQUENCE_LENGTH - 2;
    const kept = tokens.slice(0, room);
    const ids = [this.startId, ...kept, this.endId];
    while (ids.length < CLIP_SEQUENCE_LENGTH) ids.push(this.padId);
    const truncated = tokens.length > room;
    // Byte-level decoding leaves CLIP's end-of-word marks; they stand for spaces.
    const dropped = truncated ? this.tokenizer.decode(tokens.slice(room)).replaceAll('</w>', ' ').trim() : '';
    return { ids, truncated, dropped };
  }
}
