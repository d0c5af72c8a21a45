import type { RawImage } from '@pixels/server/images/codec.ts';
import { channelToMap, imageTensorToRaw, mapToRaw, rawToImageTensor } from '@pixels/server/images/pixel-tensors.ts';
import { describe, expect, it } from 'vitest';

/** 2x1 RGBA: black with alpha 10, then (51, 255, 127.5-ish) with alpha 200. */
const RGBA: RawImage = { data: new Uint8Array([0, 0, 0, 10, 51, 255, 128, 200]), width: 2, height: 1, channels: 4 };

describe('rawToImageTensor', () => {
  it('maps 0..255 to -1..1 in planar [1, 3, H, W] order, dropping alpha', () => {
    const tensor = rawToImageTensor(RGBA);
    expect(tensor.shape).toEqual([1, 3, 1, 2]);
    // Plane by plane: red (0, 51), green (0, 255), blue (0, 128).
    const expected = [-1, 51 / 127.5 - 1, -1, 1, -1, 128 / 127.5 - 1];
    expect(tensor.data).toEqual(Float32Array.from(expected));
  });

  it('takes RGB the same way as RGBA', () => {
    const rgb: RawImage = { data: new Uint8Array([0, 0, 0, 51, 255, 128]), width: 2, height: 1, channels: 3 };
    expect(rawToImageTensor(rgb)).toEqual(rawToImageTensor(RGBA));
  });

  it('refuses a grey image', () => {
    const grey: RawImage = { data: new Uint8Array(4), width: 2, height: 2, channels: 1 };
    expect(() => rawToImageTensor(grey)).toThrow('rawToImageTensor needs an RGB or RGBA image');
  });
});

describe('imageTensorToRaw', () => {
  it('inverts rawToImageTensor exactly for every 8-bit value', () => {
    const data = new Uint8Array(256 * 3);
    for (let i = 0; i < data.length; i++) data[i] = (i * 7) % 256;
    const image: RawImage = { data, width: 16, height: 16, channels: 3 };
    expect(imageTensorToRaw(rawToImageTensor(image))).toEqual(image);
  });

  it('clamps values outside [-1, 1] and rounds to the nearest level', () => {
    // One pixel per column: -2, 2, 0 (127.5 rounds up), 0.003 (127.88 rounds to 128), -0.996 (0.51 rounds to 1).
    const tensor = {
      data: new Float32Array([-2, 2, 0, 0.003, -0.996, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
      shape: [1, 3, 1, 5],
    };
    const raw = imageTensorToRaw(tensor);
    expect([raw.width, raw.height, raw.channels]).toEqual([5, 1, 3]);
    expect([0, 1, 2, 3, 4].map((x) => raw.data[x * 3])).toEqual([0, 255, 128, 128, 1]);
  });

  it('refuses a tensor that is not three-channel', () => {
    expect(() => imageTensorToRaw({ data: new Float32Array(4), shape: [1, 4, 1, 1] })).toThrow(
      'imageTensorToRaw needs 3 channels, got 4',
    );
  });
});

describe('channelToMap', () => {
  it('reads one channel of an interleaved image as a map in [0, 1]', () => {
    const alpha = channelToMap(RGBA, 3);
    expect([alpha.width, alpha.height]).toEqual([2, 1]);
    expect([...alpha.data]).toEqual([Math.fround(10 / 255), Math.fround(200 / 255)]);
    const green = channelToMap(RGBA, 1);
    expect([...green.data]).toEqual([0, 1]);
  });

  it('reads the only channel of a grey image', () => {
    const grey: RawImage = { data: new Uint8Array([0, 255, 51]), width: 3, height: 1, channels: 1 };
    expect([...channelToMap(grey, 0).data]).toEqual([0, 1, Math.fround(0.2)]);
  });
});

describe('mapToRaw', () => {
  it('clamps to [0, 1] and rounds to 8-bit grey', () => {
    const raw = mapToRaw({ data: new Float32Array([-0.5, 0, 0.5, 0.2, 1, 1.5]), width: 3, height: 2 });
    expect([raw.width, raw.height, raw.channels]).toEqual([3, 2, 1]);
    expect([...raw.data]).toEqual([0, 0, 128, 51, 255, 255]);
  });

  it('inverts channelToMap for every 8-bit level', () => {
    const levels: RawImage = {
      data: Uint8Array.from({ length: 256 }, (_, i) => i),
      width: 256,
      height: 1,
      channels: 1,
    };
    expect(mapToRaw(channelToMap(levels, 0))).toEqual(levels);
  });
});
