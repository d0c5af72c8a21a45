import { isWholePng, PixelsError } from '@pixels/shared';
import type { ImageFormat } from '../images/probe.ts';

/**
 * Checks that an image file is whole (its structure runs to the end marker) without decoding
 * pixels, so a truncated upload is refused with a 400 before it is queued instead of failing
 * later in the engine. Damage inside compressed data is still found by the engine's decoder.
 */
export function checkImageComplete(bytes: Uint8Array, format: ImageFormat, role: string, field: string): void {
  const whole = format === 'png' ? isWholePng(bytes) : format === 'jpeg' ? isWholeJpeg(bytes) : isWholeWebp(bytes);
  if (!whole) {
    throw new PixelsError(
      'invalid_image',
      `The ${role} ${format.toUpperCase()} is truncated or damaged (its data ends early); export it again and resend.`,
      field,
    );
  }
}

/** The end-of-image marker must follow the last start-of-scan (an EXIF thumbnail has its own pair earlier). */
function isWholeJpeg(bytes: Uint8Array): boolean {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return false;
  let lastScan = -1;
  let lastEnd = -1;
  for (let index = 2; index + 1 < bytes.length; index++) {
    if (bytes[index] !== 0xff) continue;
    if (bytes[index + 1] === 0xda) lastScan = index;
    else if (bytes[index + 1] === 0xd9) lastEnd = index;
  }
  return lastScan > 0 && lastEnd > lastScan;
}

/** RIFF's size field counts the bytes after it; a shorter file lost its tail. */
function isWholeWebp(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return view.getUint32(4, true) + 8 <= bytes.length;
}
