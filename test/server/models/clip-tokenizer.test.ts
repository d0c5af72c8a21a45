import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CLIP_SEQUENCE_LENGTH, ClipTokenizer } from '@pixels/server/models/tokenizer/clip-tokenizer.ts';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../../helpers/temp-dirs.ts';
import { clipVocabulary, TINY_MERGES, tinyTokenizerFiles } from '../../support/tiny-models/tiny-tokenizer-files.ts';

/**
 * Ids worked out by hand from CLIP's construction: byte symbols in bytes_to_unicode order
 * ('!'..'~' are 0..93, '¡'..'¬' 94..105, '®'..'ÿ' 106..187, the other bytes 188..255), the same
 * + '</w>' at 256..511, then one id per merge from 512 ('th' 512, 'the</w>' 513, 'ca' 514,
 * 'cat</w>' 515, 're' 516, 'red</w>' 517, ..., 'dog</w>' 525), start 526, end 527.
 */
const START = 526;
const END = 527;

async function tokenizerFolder(files: Record<string, string>): Promise<string> {
  const dir = await tempDir('tokenizer');
  for (const [name, text] of Object.entries(files)) await writeFile(join(dir, name), text);
  return dir;
}

function tokensOf(ids: number[], pad: number): number[] {
  const end = ids.indexOf(END);
  expect(ids[0]).toBe(START);
  expect(ids.slice(end + 1).every((id) => id === pad)).toBe(true);
  return ids.slice(1, end);
}

describe('ClipTokenizer (vocab.json + merges.txt)', () => {
  it('builds the vocabulary CLIP builds', () => {
    const vocabulary = clipVocabulary(TINY_MERGES);
    expect(vocabulary['!']).toBe(0);
    expect(vocabulary.a).toBe(64);
    expect(vocabulary['a</w>']).toBe(320);
    expect(vocabulary['the</w>']).toBe(513);
    expect(vocabulary['<|startoftext|>']).toBe(START);
    expect(vocabulary['<|endoftext|>']).toBe(END);
  });

  it.each([
    ['whole-word merges', 'the red cat', [513, 517, 515]],
    ['lower-casing and whitespace folding', 'The   RED\tcat', [513, 517, 515]],
    ['a partial merge: t+h merges, th+e does not (only th+e</w> is listed)', 'then', [512, 68, 333]],
    ['punctuation split from words', 'dog!', [525, 256]],
    ['each digit its own token', '42', [275, 273]],
    ["CLIP's contraction rule", "cat's", [515, 6, 338]],
    ['a non-ASCII letter as its UTF-8 bytes (é = C3 A9)', 'é', [127, 358]],
    ['the empty prompt', '', []],
  ])('%s', async (_name, prompt, expected) => {
    const tokenizer = await ClipTokenizer.load(await tokenizerFolder({ ...tinyTokenizerFiles('<|endoftext|>') }));
    const { ids, truncated } = tokenizer.encode(prompt);
    expect(ids).toHaveLength(CLIP_SEQUENCE_LENGTH);
    expect(tokensOf(ids, END)).toEqual(expected);
    expect(truncated).toBe(false);
  });

  it("pads with the family's pad token: '!' (0) for SD 2.x and SDXL's second encoder, end-of-text for SD 1.x", async () => {
    const openClip = await ClipTokenizer.load(await tokenizerFolder({ ...tinyTokenizerFiles('!') }));
    expect(openClip.encode('red').ids.slice(0, 5)).toEqual([START, 517, END, 0, 0]);
    const clip = await ClipTokenizer.load(await tokenizerFolder({ ...tinyTokenizerFiles('<|endoftext|>') }));
    expect(clip.encode('red').ids.slice(0, 5)).toEqual([START, 517, END, END, END]);
    // Without tokenizer_config.json the caller's family default decides.
    const { 'tokenizer_config.json': _config, ...bare } = tinyTokenizerFiles('!');
    const folder = await tokenizerFolder(bare);
    expect((await ClipTokenizer.load(folder, '!')).encode('red').ids[3]).toBe(0);
    expect((await ClipTokenizer.load(folder)).encode('red').ids[3]).toBe(END);
  });

  it('cuts a long prompt to 77 ids, keeping the end token, and says what was dropped', async () => {
    const tokenizer = await ClipTokenizer.load(await tokenizerFolder({ ...tinyTokenizerFiles('!') }));
    const words = Array.from({ length: 80 }, (_, index) => (index < 75 ? 'cat' : 'dog'));
    const { ids, truncated, dropped } = tokenizer.encode(words.join(' '));
    expect(ids).toHaveLength(77);
    expect(ids[76]).toBe(END);
    expect(ids.slice(1, 76).every((id) => id === 515)).toBe(true);
    expect(truncated).toBe(true);
    expect(dropped).toBe('dog dog dog dog dog');
    expect(tokenizer.encode(words.slice(0, 75).join(' ')).truncated).toBe(false);
  });

  it('reads tokenizer.json when present (its post-processor is ignored: we add start and end ourselves)', async () => {
    const files = tinyTokenizerFiles('!');
    const vocab = JSON.parse(files['vocab.json']);
    const special = (content: string) => ({
      id: vocab[content],
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: true,
      special: true,
    });
    const tokenizerJson = {
      version: '1.0',
      truncation: null,
      padding: null,
      added_tokens: [special('<|startoftext|>'), special('<|endoftext|>')],
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
      post_processor: {
        type: 'RobertaProcessing',
        sep: ['<|endoftext|>', END],
        cls: ['<|startoftext|>', START],
        trim_offsets: false,
        add_prefix_space: false,
      },
      decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: '<|endoftext|>',
        continuing_subword_prefix: '',
        end_of_word_suffix: '</w>',
        fuse_unk: false,
        vocab,
        merges: TINY_MERGES,
      },
    };
    const folder = await tokenizerFolder({
      'tokenizer.json': JSON.stringify(tokenizerJson),
      'tokenizer_config.json': files['tokenizer_config.json'],
    });
    const tokenizer = await ClipTokenizer.load(folder);
    expect(tokensOf(tokenizer.encode('The red dog!').ids, 0)).toEqual([513, 517, 525, 256]);
  });
});

describe('ClipTokenizer: broken folders', () => {
  it('names the missing file and where to get it', async () => {
    const { 'merges.txt': _merges, ...noMerges } = tinyTokenizerFiles('!');
    await expect(ClipTokenizer.load(await tokenizerFolder(noMerges))).rejects.toThrow(
      /merges\.txt: missing; the tokenizer needs it beside vocab\.json/,
    );
    await expect(ClipTokenizer.load(await tokenizerFolder({}))).rejects.toThrow(
      /vocab\.json: missing; a tokenizer folder needs vocab\.json and merges\.txt \(or tokenizer\.json\)/,
    );
    const broken = await tokenizerFolder({ ...tinyTokenizerFiles('!'), 'vocab.json': '{"a": 1,' });
    await expect(ClipTokenizer.load(broken)).rejects.toThrow(/vocab\.json: not valid JSON/);
    const noPad = await tokenizerFolder({ ...tinyTokenizerFiles('<pad>') });
    await expect(ClipTokenizer.load(noPad)).rejects.toThrow(
      /the vocabulary has no pad token '<pad>'; is this a CLIP tokenizer\?/,
    );
  });
});
