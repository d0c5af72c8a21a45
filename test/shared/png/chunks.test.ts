import { crc32 as zlibCrc32 } from 'node:zlib';
import {
  assemblePng,
  buildIhdrChunk,
  buildPngChunk,
  crc32,
  hasPngSignature,
  isWholePng,
  pngChunks,
  readPngSize,
} from '@pixels/shared';
import { describe, expect, it } from 'vitest';

const bytes = (text: string) => new TextEncoder().encode(text);

function smallPng(): Uint8Array {
  return assemblePng([
    buildIhdrChunk({ width: 37, height: 11, bitDepth: 8, colorType: 6 }),
    buildPngChunk('tEXt', bytes('Title\0PIXELS')),
    buildPngChunk('IDAT', new Uint8Array([1, 2, 3])),
    buildPngChunk('IEND', new Uint8Array(0)),
  ]);
}

describe('the PNG chunk module', () => {
  it('refuses what is not a PNG, saying what it expected', () => {
    expect(hasPngSignature(bytes('GIF89a..'))).toBe(false);
    expect(() => [...pngChunks(new Uint8Array(9))]).toThrow(
      'Expected PNG bytes (starting with the PNG signature), got 9 bytes of something else.',
    );
    expect(() => readPngSize(new Uint8Array([1, 2, 3]))).toThrow(
      'Expected PNG bytes (starting with the PNG signature and an IHDR chunk), got 3 bytes of something else.',
    );
    expect(() => buildPngChunk('IDA', new Uint8Array(0))).toThrow('A PNG chunk type is four ASCII letters, got "IDA".');
  });

  it('computes the CRC-32 zlib does', () => {
    const data = bytes('PIXELS exemplar blend');
    expect(crc32(data)).toBe(zlibCrc32(data));
    expect(crc32(new Uint8Array(0))).toBe(0);
  });

  it('builds chunks with length, type, data and a CRC over type and data', () => {
    const chunk = buildPngChunk('IEND', new Uint8Array(0));
    // Every PNG ends in these twelve bytes (PNG spec §11.2.5).
    expect(Array.from(chunk)).toEqual([0, 0, 0, 0, 0x49, 0x45, 0x4e, 0x44, 0xae, 0x42, 0x60, 0x82]);
    const custom = buildPngChunk('tEXt', bytes('a\0b'), () => 0xdeadbeef);
    expect(Array.from(custom.subarray(-4))).toEqual([0xde, 0xad, 0xbe, 0xef]);
  });

  it('walks every chunk in order and reads the size from IHDR', () => {
    const png = smallPng();
    const chunks = [...pngChunks(png)];
    expect(chunks.map((chunk) => chunk.type)).toEqual(['IHDR', 'tEXt', 'IDAT', 'IEND']);
    expect(chunks.map((chunk) => chunk.offset)).toEqual([8, 33, 57, 72]);
    expect(Array.from(chunks[2].data)).toEqual([1, 2, 3]);
    expect(readPngSize(png)).toEqual({ width: 37, height: 11 });
  });

  it('tells a whole PNG from one cut short or without IEND', () => {
    const png = smallPng();
    expect(isWholePng(png)).toBe(true);
    expect(isWholePng(png.subarray(0, png.length - 1))).toBe(false);
    expect(isWholePng(png.subarray(0, 60))).toBe(false);
    expect([...pngChunks(png.subarray(0, 60))].map((chunk) => chunk.type)).toEqual(['IHDR', 'tEXt']);
    expect(isWholePng(bytes('not a png at all'))).toBe(false);
  });
});
