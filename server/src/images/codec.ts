/** The one module that talks to sharp: everything else sees plain pixel buffers. */
import sharp, { type Metadata, type OutputInfo, type Sharp } from 'sharp';
import { encodePngParallel } from './png-encoder.ts';

/** 8-bit interleaved pixels, row-major. */
export interface RawImage {
  readonly data: Uint8Array;
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
}

/** Sharp's raw output as plain pixels, with the channel count sharp reports. */
function rawFrom(data: Buffer, info: OutputInfo): RawImage {
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.length),
    width: info.width,
    height: info.height,
    channels: info.channels as RawImage['channels'],
  };
}

export type ResizeFit = 'fill' | 'contain' | 'cover';
/** 'lanczos3' for pictures; 'linear' (a triangle filter, no ringing) for maps that must stay within their range. */
export type ResizeKernel = 'lanczos3' | 'linear';

/** Header fields only; no pixel is decoded. Throws on unreadable input. */
export async function readHeader(bytes: Uint8Array): Promise<Metadata> {
  return sharp(bytes, { limitInputPixels: false }).metadata();
}

/**
 * Decodes to RGBA (alpha added when absent), upright: the EXIF orientation is applied, as every
 * photo tool shows the image. `maxPixels` guards the decoder too.
 */
export async function decodeRgba(bytes: Uint8Array, maxPixels: number): Promise<RawImage> {
  return rgbaOf(sharp(bytes, { limitInputPixels: maxPixels, autoOrient: true }));
}

/** A decode's pixels as sRGB RGBA. */
async function rgbaOf(image: Sharp): Promise<RawImage> {
  // Grey images decode to one or two channels unless converted: every caller expects RGBA.
  const { data, info } = await image.toColourspace('srgb').ensureAlpha().raw().toBuffer({ resolveWithObject: true });
  if (info.channels !== 4) throw new Error(`decoded to ${info.channels} channels instead of RGBA`);
  return rawFrom(data, info);
}

/**
 * Rows [top, top + height) of an image `width` pixels wide (upright), as decodeRgba decodes them:
 * the decoder reads the image in order and stops after the last of them.
 */
export async function decodeRgbaRows(
  bytes: Uint8Array,
  rows: { top: number; height: number; width: number },
  maxPixels: number,
): Promise<RawImage> {
  return rgbaOf(
    sharp(bytes, { limitInputPixels: maxPixels, autoOrient: true, sequentialRead: true }).extract({
      left: 0,
      top: rows.top,
      width: rows.width,
      height: rows.height,
    }),
  );
}

/** Decodes any image to one luminance channel (transparent pixels count as black), upright like decodeRgba. */
export async function decodeLuminance(bytes: Uint8Array, maxPixels: number): Promise<RawImage> {
  const { data, info } = await sharp(bytes, { limitInputPixels: maxPixels, autoOrient: true })
    .flatten({ background: '#000000' })
    .toColourspace('b-w')
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rawFrom(data, info);
}

function fromRaw(image: RawImage) {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } });
}

/**
 * Resizes to exactly width x height. 'fill' stretches; 'contain' letterboxes with transparent
 * (or black, without alpha) bands; 'cover' scales up and crops the centre. Lanczos filtering by default.
 */
export async function resizeRaw(
  image: RawImage,
  width: number,
  height: number,
  fit: ResizeFit = 'fill',
  kernel: ResizeKernel = 'lanczos3',
): Promise<RawImage> {
  if (image.width === width && image.height === height) return image;
  const { data, info } = await fromRaw(image)
    .resize(width, height, { fit, kernel, background: { r: 0, g: 0, b: 0, alpha: 0 } })
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rawFrom(data, info);
}

/** Places an image unscaled at (left, top) on a transparent canvas of width x height, cropping what falls outside. */
export async function placeOnCanvas(
  image: RawImage,
  width: number,
  height: number,
  left: number,
  top: number,
): Promise<RawImage> {
  const canvas = sharp({ create: { width, height, channels: 4, background: { r: 0, g: 0, b: 0, alpha: 0 } } });
  const cropLeft = Math.max(0, -left);
  const cropTop = Math.max(0, -top);
  const visibleWidth = Math.min(image.width - cropLeft, width - Math.max(0, left));
  const visibleHeight = Math.min(image.height - cropTop, height - Math.max(0, top));
  if (visibleWidth <= 0 || visibleHeight <= 0) {
    return { data: new Uint8Array(width * height * 4), width, height, channels: 4 };
  }
  const visible = await fromRaw(image)
    .extract({ left: cropLeft, top: cropTop, width: visibleWidth, height: visibleHeight })
    .raw()
    .toBuffer();
  const { data, info } = await canvas
    .composite([
      {
        input: visible,
        raw: { width: visibleWidth, height: visibleHeight, channels: image.channels },
        left: Math.max(0, left),
        top: Math.max(0, top),
      },
    ])
    .raw()
    .toBuffer({ resolveWithObject: true });
  return rawFrom(data, info);
}

/** Lossless PNG, by our parallel encoder (libvips' single-threaded deflate takes seconds at 4096²; see png-encoder.ts). */
export async function encodePng(image: RawImage): Promise<Uint8Array> {
  return encodePngParallel(image);
}

/** A small JPEG, for step previews, resized (up or down) to width x height. */
export async function encodePreviewJpeg(image: RawImage, width: number, height: number): Promise<Uint8Array> {
  const resized =
    image.width === width && image.height === height
      ? fromRaw(image)
      : fromRaw(image).resize(width, height, { fit: 'fill' });
  return new Uint8Array(await resized.jpeg({ quality: 70 }).toBuffer());
}

/** Images side by side on a background, each scaled to `height`, for documentation pictures. */
export async function composeRow(
  images: readonly RawImage[],
  height: number,
  gap: number,
  background: number,
): Promise<RawImage> {
  const scaled = await Promise.all(
    images.map((image) => resizeRaw(image, Math.round((image.width * height) / image.height), height, 'fill')),
  );
  const width = scaled.reduce((sum, image) => sum + image.width, 0) + gap * (scaled.length + 1);
  let left = gap;
  const layers = scaled.map((image) => {
    const layer = {
      input: Buffer.from(image.data),
      raw: { width: image.width, height: image.height, channels: image.channels },
      left,
      top: gap,
    };
    left += image.width + gap;
    return layer;
  });
  const { data, info } = await sharp({
    create: {
      width,
      height: height + 2 * gap,
      channels: 3,
      background: { r: background, g: background, b: background },
    },
  })
    .composite(layers)
    .raw()
    .toBuffer({ resolveWithObject: true });
  // Compositing RGBA layers gives the canvas an alpha channel: rawFrom reports what came out.
  return rawFrom(data, info);
}
