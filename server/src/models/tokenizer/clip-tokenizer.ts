import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
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
}

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
      normalizers: [{ type: 'NFC' }, { type: 'Replace', pattern: { Regex: '\\s+' }, content: ' ' }, { type: 'Lowercase' }],
    },
    pre_tokenizer: {
      type: 'Sequence',
      pretokenizers: [
        {
          type: 'Split',
          pattern: {
            Regex: "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
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

/**
 * The CLIP tokenizer of one text encoder, from a `tokenizer/` folder: `tokenizer.json` when present,
 * else `vocab.json` + `merges.txt` (the usual Optimum export). `padToken` is the family's pad:
 * `<|endoftext|>` for SD 1.x, `!` (id 0) for SD 2.x and SDXL's second encoder.
 */
export class ClipTokenizer {
  private constructor(
    private readonly tokenizer: Tokenizer,
    private readonly startId: number,
    private readonly endId: number,
    private readonly padId: number,
  ) {}

  static async load(folder: string): Promise<ClipTokenizer> {
    const configPath = join(folder, 'tokenizer_config.json');
    const config = (await fileExists(configPath)) ? JSON.parse(await readFile(configPath, 'utf8')) : {};
    const jsonPath = join(folder, 'tokenizer.json');
    let definition: Record<string, unknown>;
    let vocab: Record<string, number>;
    if (await fileExists(jsonPath)) {
      definition = JSON.parse(await readFile(jsonPath, 'utf8'));
      definition.post_processor = null;
      vocab = (definition.model as { vocab: Record<string, number> }).vocab;
    } else {
      vocab = JSON.parse(await readFile(join(folder, 'vocab.json'), 'utf8'));
      definition = clipTokenizerJson(vocab, parseMerges(await readFile(join(folder, 'merges.txt'), 'utf8')));
    }
    const idOf = (token: string, what: string) => {
      const id = vocab[token];
      if (id === undefined) throw new Error(`${folder}: the vocabulary has no ${what} token '${token}'`);
      return id;
    };
    const padToken = typeof config.pad_token === 'string' ? config.pad_token : (config.pad_token?.content ?? END_TOKEN);
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
    return { ids, truncated: tokens.length > room };
  }
}
