/**
 * A small CLIP tokenizer in the Optimum layout (`vocab.json`, `merges.txt`, `tokenizer_config.json`),
 * built the way OpenAI's CLIP builds its vocabulary: the 256 byte symbols of `bytes_to_unicode`, the
 * same with `</w>`, one entry per merge, then the two special tokens. Real CLIP vocabularies follow
 * the same order, so `!` is id 0 here as there (SD 2.x pads with it).
 */

/** A few merges, enough to make common prompt words multi-character tokens. */
export const TINY_MERGES: readonly string[] = Object.freeze([
  't h',
  'th e</w>',
  'c a',
  'ca t</w>',
  'r e',
  're d</w>',
  'o n',
  'a n',
  'an d</w>',
  'b l',
  'bl u',
  'blu e</w>',
  'd o',
  'do g</w>',
]);

/** GPT-2 / CLIP `bytes_to_unicode`: printable symbols for the 256 byte values, in CLIP's order. */
export function byteSymbols(): string[] {
  const printable: number[] = [];
  for (let code = 33; code <= 126; code++) printable.push(code);
  for (let code = 161; code <= 172; code++) printable.push(code);
  for (let code = 174; code <= 255; code++) printable.push(code);
  const symbols = printable.map((code) => String.fromCodePoint(code));
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    if (!printable.includes(byte)) symbols.push(String.fromCodePoint(256 + extra++));
  }
  return symbols;
}

/** The vocabulary CLIP builds from a merge list: bytes, bytes + `</w>`, merges, specials. */
export function clipVocabulary(merges: readonly string[]): Record<string, number> {
  const bytes = byteSymbols();
  const tokens = [
    ...bytes,
    ...bytes.map((symbol) => `${symbol}</w>`),
    ...merges.map((merge) => merge.replace(' ', '')),
  ];
  tokens.push('<|startoftext|>', '<|endoftext|>');
  return Object.fromEntries(tokens.map((token, id) => [token, id]));
}

export interface TokenizerFiles {
  'vocab.json': string;
  'merges.txt': string;
  'tokenizer_config.json': string;
  'special_tokens_map.json': string;
}

/** The files of a `tokenizer/` folder; `padToken` is `<|endoftext|>` (SD 1.x) or `!` (SD 2.x, SDXL's second). */
export function tinyTokenizerFiles(padToken: string, merges: readonly string[] = TINY_MERGES): TokenizerFiles {
  const special = {
    bos_token: '<|startoftext|>',
    eos_token: '<|endoftext|>',
    unk_token: '<|endoftext|>',
    pad_token: padToken,
  };
  return {
    'vocab.json': JSON.stringify(clipVocabulary(merges)),
    'merges.txt': `#version: 0.2\n${merges.join('\n')}\n`,
    'tokenizer_config.json': JSON.stringify(
      { ...special, model_max_length: 77, do_lower_case: true, tokenizer_class: 'CLIPTokenizer' },
      null,
      2,
    ),
    'special_tokens_map.json': JSON.stringify(special, null, 2),
  };
}
