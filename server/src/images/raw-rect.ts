import type { RawImage } from './codec.ts';
/** Rectangles of whole pixels and the copies made by them, shared by the edit's region planning and its inputs. */

/** A rectangle of whole pixels in the source frame. */
export interface Rect {
  left: number;
  top: number;
  width: number;
  height: number;
}

export function isWholeFrame(rect: Rect, frame: { width: number; height: number }): boolean {
  return rect.left === 0 && rect.top === 0 && rect.width === frame.width && rect.height === frame.height;
}

/** A copy of the pixels inside `rect` (the image itself when the rect is the whole frame). */
export function cropRaw(image: RawImage, rect: Rect): RawImage {
  if (isWholeFrame(rect, image)) return image;
  const { channels } = image;
  const rowBytes = rect.width * channels;
  const data = new Uint8Array(rect.height * rowBytes);
  for (let y = 0; y < rect.height; y++) {
    const from = ((rect.top + y) * image.width + rect.left) * channels;
    data.set(image.data.subarray(from, from + rowBytes), y * rowBytes);
  }
  return { data, width: rect.width, height: rect.height, channels };
}

/** Whether an RGBA image is opaque over its whole frame (an exemplar with no shape of its own). */
export function isOpaqueEverywhere(exemplar: RawImage): boolean {
  for (let i = 3; i < exemplar.data.length; i += 4) if (exemplar.data[i] < 255) return false;
  return true;
}

/** Rows [top, top + image.height) of a frame at its full width: all of it when top is 0 and the heights agree. */
export interface FrameRows {
  readonly image: RawImage;
  readonly top: number;
}

/** `rect` of the frame, moved into the rows' own coordinates; throws when the rows do not hold all of it. */
export function rectInRows(rows: FrameRows, rect: Rect): Rect {
  if (rect.top < rows.top || rect.top + rect.height > rows.top + rows.image.height) {
    throw new Error(
      `rows ${rect.top} to ${rect.top + rect.height} of the frame are not all in the ${rows.image.height} held from ${rows.top}`,
    );
  }
  return { ...rect, top: rect.top - rows.top };
}
