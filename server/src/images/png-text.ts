/**
 * PNG text metadata: an iTXt chunk (UTF-8, so prompts in any script survive) inserted before IEND.
 * PNG spec §11.3.4.5; the chunk walk and build are the shared PNG chunk module's.
 */
import { buildPngChunk, hasPngSignature, pngChunks } from '@pixels/shared';

function assertPng(png: Uint8Array): void {
  if (!hasPngSignature(png)) throw new Error('not a PNG file');
}

/** Returns a copy of `png` with an iTXt chunk `keyword` = `text` before IEND. */
export function addPngText(png: Uint8Array, keyword: string, text: string): Uint8Array {
  assertPng(png);
  const encoder = new TextEncoder();
  const keywordBytes = encoder.encode(keyword);
  if (keywordBytes.length < 1 || keywordBytes.length > 79) throw new Error('PNG text keyword must be 1-79 bytes');
  const textBytes = encoder.encode(text);
  // keyword \0, compression flag 0, method 0, empty language tag \0, empty translated keyword \0, text
  const data = new Uint8Array(keywordBytes.length + 5 + textBytes.length);
  data.set(keywordBytes, 0);
  data.set(textBytes, keywordBytes.length + 5);
  const chunk = buildPngChunk('iTXt', data);
  const iendStart = png.length - 12;
  const out = new Uint8Array(png.length + chunk.length);
  out.set(png.subarray(0, iendStart), 0);
  out.set(chunk, iendStart);
  out.set(png.subarray(iendStart), iendStart + chunk.length);
  return out;
}

/** Reads every uncompressed tEXt/iTXt chunk as keyword → text. */
export function readPngText(png: Uint8Array): Map<string, string> {
  assertPng(png);
  const texts = new Map<string, string>();
  const decoder = new TextDecoder();
  for (const { type, data } of pngChunks(png)) {
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) {
      texts.set(decoder.decode(data.subarray(0, nul)), String.fromCharCode(...data.subarray(nul + 1)));
    } else if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const languageEnd = data.indexOf(0, nul + 3);
      const translatedEnd = data.indexOf(0, languageEnd + 1);
      texts.set(decoder.decode(data.subarray(0, nul)), decoder.decode(data.subarray(translatedEnd + 1)));
    }
  }
  return texts;
}
