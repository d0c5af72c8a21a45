import { decodeRgba, encodePng } from '@pixels/server/images/codec.ts';
import { addPngText, readPngText } from '@pixels/server/images/png-text.ts';
import { describe, expect, it } from 'vitest';

describe('PNG text chunks', () => {
  it('round-trips UTF-8 text in an iTXt chunk and keeps the image decodable', async () => {
    const pixels = { data: new Uint8Array(4 * 4 * 3).fill(200), width: 4, height: 4, channels: 3 as const };
    const png = await encodePng(pixels);
    const text = JSON.stringify({ prompt: 'mossy brick, 苔むした', seed: 42 });
    const tagged = addPngText(png, 'pixels', text);
    expect(readPngText(tagged).get('pixels')).toBe(text);
    const decoded = await decodeRgba(tagged, 100);
    expect(decoded.width).toBe(4);
    expect(decoded.data[0]).toBe(200);
  });

  it('refuses what is not a PNG', () => {
    expect(() => addPngText(new Uint8Array([1, 2, 3]), 'pixels', 'x')).toThrow('not a PNG file');
  });
});
