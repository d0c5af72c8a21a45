/**
 * A tiny CLIP-format byte-level BPE tokenizer: the 256 byte characters, their end-of-word forms,
 * a handful of merges and the two special tokens, in the order CLIP's vocab.json uses
 * (openai/CLIP `simple_tokenizer.py`), so any CLIP tokenizer implementation reads it.
 */

export const START_OF_TEXT = '<|startoftext|>';
export const END_OF_TEXT = '<|endoftext|>';

/** A few common English merges, each built only from tokens that exist before it. */
const MERGES: readonly [string, string][] = [
  ['t', 'h'],
  ['th', 'e</w>'],
  ['a', 'n'],
  ['an', 'd</w>'],
  ['i', 'n'],
  ['in', 'g</w>'],
  ['e', 'r'],
  ['o', 'n'],
  ['r', 'e'],
  ['e', 'd</w>'],
];

/** GPT-2/CLIP's reversible byte → printable character map (`bytes_to_unicode`), in vocab order. */
export function byteCharacters(): string[] {
  const printable: number[] = [];
  const ranges: [string, string][] = [
    ['!', '~'],
    ['¡', '¬'],
    ['®', 'ÿ'],
  ];
  for (const [first, last] of ranges) {
    for (let code = first.charCodeAt(0); code <= last.charCodeAt(0); code++) printable.push(code);
  }
  const characters = printable.map((code) => String.fromCharCode(code));
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (!printable.includes(byte)) characters.push(String.fromCharCode(256 + extra++));
  }
  return characters;
}

export interface TokenizerFiles {
  vocab: Record<string, number>;
  merges: readonly string[];
}

/** The vocabulary (token → id) and merge list; the end-of-text token has the largest id, as in CLIP. */
export function buildTokenizer(): TokenizerFiles {
  const bytes = byteCharacters();
  const tokens = [...bytes, ...bytes.map((character) => `${character}</w>`)];
  for (const [left, right] of MERGES) tokens.push(left + right);
  tokens.push(START_OF_TEXT, END_OF_TEXT);
  const vocab: Record<string, number> = {};
  tokens.forEach((token, id) => {
    vocab[token] = id;
  });
  return { vocab, merges: MERGES.map(([left, right]) => `${left} ${right}`) };
}

/** The files of a `tokenizer/` folder, by name. */
export function tokenizerFolderFiles(tokenizer: TokenizerFiles, maxLength: number): Record<string, string> {
  const special = { bos_token: START_OF_TEXT, eos_token: END_OF_TEXT, pad_token: END_OF_TEXT, unk_token: END_OF_TEXT };
  const config = {
    add_prefix_space: false,
    ...special,
    clean_up_tokenization_spaces: true,
    do_lower_case: true,
    errors: 'replace',
    model_max_length: maxLength,
    tokenizer_class: 'CLIPTokenizer',
  };
  return {
    'vocab.json': `${JSON.stringify(tokenizer.vocab)}\n`,
    'merges.txt': `#version: 0.2\n${tokenizer.merges.join('\n')}\n`,
    'tokenizer_config.json': `${JSON.stringify(config, null, 2)}\n`,
    'special_tokens_map.json': `${JSON.stringify(special, null, 2)}\n`,
  };
}
