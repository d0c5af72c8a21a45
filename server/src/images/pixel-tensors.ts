import type { GrayMap } from '@pixels/shared';
import type { Tensor } from '../engine/tensor.ts';
import type { RawImage } from './codec.ts';

/** RGB(A) 8-bit pixels → image tensor [1, 3, H, W] in [-1, 1] (alpha dropped). */
export function rawToImageTensor(image: RawImage): Tensor {
  const { width, height, channels } = image;
  if (channels < 3) throw new Error('rawToImageTensor needs an RGB or RGBA image');
  const plane = width * height;
  const data = new Float32Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) data[c * plane + i] = image.data[i * channels + c] / 127.5 - 1;
  }
  return { data, shape: [1, 3, height, width] };
}

/** Image tensor [1, 3, H, W] in [-1, 1] → RGB 8-bit pixels (clamped, rounded). */
export function imageTensorToRaw(image: Tensor): RawImage {
  const [, channels, height, width] = image.shape;
  if (channels !== 3) throw new Error(`imageTensorToRaw needs 3 channels, got ${channels}`);
  const plane = width * height;
  const data = new Uint8Array(3 * plane);
  for (let i = 0; i < plane; i++) {
    for (let c = 0; c < 3; c++) {
      const value = Math.round((image.data[c * plane + i] + 1) * 127.5);
      data[i * 3 + c] = Math.min(255, Math.max(0, value));
    }
  }
  return { data, width, height, channels: 3 };
}

/** One channel of an 8-bit image as a map in [0, 1] (the alpha of RGBA, the only channel of gray). */
export function channelToMap(image: RawImage, channel: number): GrayMap {
  const { width, height, channels } = image;
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = image.data[i * channels + channel] / 255;
  return { data, width, height };
}

/** A map in [0, 1] → 8-bit gray pixels. */
export function mapToRaw(map: GrayMap): RawImage {
  const data = new Uint8Array(map.data.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(Math.min(1, Math.max(0, map.data[i])) * 255);
  return { data, width: map.width, height: map.height, channels: 1 };
}
