/**
 * PNG text metadata: an iTXt chunk (UTF-8, so prompts in any script survive) inserted before IEND.
 * PNG spec §11.3.4.5; CRC-32 (zlib's) over chunk type and data, §5.5.
 */
import { crc32 } from 'node:zlib';

const PNG_SIGNATURE = [137, 80, 78, 71, 13, 10, 26, 10];

function assertPng(png: Uint8Array): void {
  if (png.length < 8 || PNG_SIGNATURE.some((byte, i) => png[i] !== byte)) throw new Error('not a PNG file');
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
  const chunk = new Uint8Array(12 + data.length);
  const view = new DataView(chunk.buffer);
  view.setUint32(0, data.length);
  chunk.set(encoder.encode('iTXt'), 4);
  chunk.set(data, 8);
  view.setUint32(8 + data.length, crc32(chunk.subarray(4, 8 + data.length)));
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
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const decoder = new TextDecoder();
  for (let offset = 8; offset + 12 <= png.length; ) {
    const length = view.getUint32(offset);
    const type = String.fromCharCode(...png.subarray(offset + 4, offset + 8));
    const data = png.subarray(offset + 8, offset + 8 + length);
    const nul = data.indexOf(0);
    if (type === 'tEXt' && nul > 0) {
      texts.set(decoder.decode(data.subarray(0, nul)), String.fromCharCode(...data.subarray(nul + 1)));
    } else if (type === 'iTXt' && nul > 0 && data[nul + 1] === 0) {
      const languageEnd = data.indexOf(0, nul + 3);
      const translatedEnd = data.indexOf(0, languageEnd + 1);
      texts.set(decoder.decode(data.subarray(0, nul)), decoder.decode(data.subarray(translatedEnd + 1)));
    }
    offset += 12 + length;
  }
  return texts;
}
