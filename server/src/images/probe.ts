import { PixelsError } from '@pixels/shared';
import type { Metadata } from 'sharp';
import { readHeader } from './codec.ts';

export const IMAGE_FORMATS = ['png', 'jpeg', 'webp'] as const;
export type ImageFormat = (typeof IMAGE_FORMATS)[number];

export interface ImageHeader {
  format: ImageFormat;
  /** Upright size: the EXIF orientation applied, as the decoder will deliver the pixels. */
  width: number;
  height: number;
  hasAlpha: boolean;
}

/**
 * Reads an image's header (no pixels are decoded) and refuses what the engine cannot take:
 * unknown formats and images over `maxPixels`, so a decompression bomb costs nothing.
 * `role` names the input in messages ("source", "exemplar 2", "map").
 */
export async function probeImage(bytes: Uint8Array, role: string, maxPixels: number): Promise<ImageHeader> {
  if (bytes.length === 0) {
    throw new PixelsError('invalid_image', `The ${role} image is empty: send a PNG, JPEG or WebP file.`, role);
  }
  let metadata: Metadata;
  try {
    metadata = await readHeader(bytes);
  } catch (error) {
    throw new PixelsError(
      'invalid_image',
      `The ${role} image could not be read: it is not a PNG, JPEG or WebP file, or it is damaged.`,
      role,
      { cause: error },
    );
  }
  const format: string | undefined = metadata.format;
  if (!IMAGE_FORMATS.includes(format as ImageFormat)) {
    throw new PixelsError(
      'invalid_image',
      `The ${role} image is ${format ?? 'of an unknown format'}; send it as PNG, JPEG or WebP.`,
      role,
    );
  }
  // Orientations 5-8 swap the sides: the upright size is what the map and the result follow.
  const { width, height } = metadata.autoOrient ?? metadata;
  if (!width || !height) {
    throw new PixelsError('invalid_image', `The ${role} image has no size in its header; re-export it.`, role);
  }
  if (width * height > maxPixels) {
    throw new PixelsError(
      'image_too_large',
      `The ${role} image is ${width}x${height} (${width * height} pixels), over the limit of ${maxPixels} pixels; scale it down.`,
      role,
    );
  }
  return { format: format as ImageFormat, width, height, hasAlpha: metadata.hasAlpha === true };
}
