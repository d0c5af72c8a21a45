import type { Raster } from '../../png/raster.ts';

/** Draws an opaque RGBA raster on the preview canvas at its own size (CSS scales it to fit). */
export function drawRaster(canvas: HTMLCanvasElement, raster: Raster): void {
  canvas.width = raster.width;
  canvas.height = raster.height;
  const context = canvas.getContext('2d');
  if (!context) return;
  const pixels = new Uint8ClampedArray(raster.data.buffer, raster.data.byteOffset, raster.data.byteLength);
  context.putImageData(new ImageData(pixels as Uint8ClampedArray<ArrayBuffer>, raster.width, raster.height), 0, 0);
}

export function clearCanvas(canvas: HTMLCanvasElement): void {
  canvas.width = 1;
  canvas.height = 1;
}
