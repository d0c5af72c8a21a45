import { createRaster, type Raster } from '../../png/raster.ts';

/**
 * Shrinks an RGBA raster by area averaging (each output pixel is the alpha-weighted mean of the
 * input pixels it covers), which keeps fine detail from aliasing and edges from darkening.
 */
export function shrinkRaster(raster: Raster, width: number, height: number): Raster {
  if (raster.channels !== 4) throw new Error('shrinkRaster expects an RGBA raster.');
  if (width > raster.width || height > raster.height) {
    throw new Error(`shrinkRaster only shrinks: asked for ${width}x${height} from ${raster.width}x${raster.height}.`);
  }
  const out = createRaster(width, height, 4);
  const scaleX = raster.width / width;
  const scaleY = raster.height / height;
  for (let y = 0; y < height; y++) {
    const y0 = y * scaleY;
    const y1 = (y + 1) * scaleY;
    for (let x = 0; x < width; x++) {
      const x0 = x * scaleX;
      const x1 = (x + 1) * scaleX;
      let red = 0;
      let green = 0;
      let blue = 0;
      let alpha = 0;
      let area = 0;
      for (let sy = Math.floor(y0); sy < Math.min(raster.height, Math.ceil(y1)); sy++) {
        const wy = Math.min(y1, sy + 1) - Math.max(y0, sy);
        for (let sx = Math.floor(x0); sx < Math.min(raster.width, Math.ceil(x1)); sx++) {
          const weight = (Math.min(x1, sx + 1) - Math.max(x0, sx)) * wy;
          const o = (sy * raster.width + sx) * 4;
          const a = raster.data[o + 3] * weight;
          red += raster.data[o] * a;
          green += raster.data[o + 1] * a;
          blue += raster.data[o + 2] * a;
          alpha += a;
          area += weight;
        }
      }
      const o = (y * width + x) * 4;
      if (alpha > 0) {
        out.data[o] = Math.round(red / alpha);
        out.data[o + 1] = Math.round(green / alpha);
        out.data[o + 2] = Math.round(blue / alpha);
      }
      out.data[o + 3] = Math.round(alpha / area);
    }
  }
  return out;
}
