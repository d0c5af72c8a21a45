export interface Size {
  width: number;
  height: number;
}

/**
 * The resolution the model runs at: the source's aspect ratio at the model's native area
 * (nativeSize², where it was trained), or with the long side at `longSide` when asked; each side
 * rounded to a multiple the model needs. Small sources are scaled up, since latent diffusion
 * models degrade far below their native size.
 */
export function workingSize(source: Size, nativeSize: number, multiple: number, longSide?: number): Size {
  const aspect = source.width / source.height;
  let width: number;
  let height: number;
  if (longSide !== undefined) {
    width = aspect >= 1 ? longSide : longSide * aspect;
    height = aspect >= 1 ? longSide / aspect : longSide;
  } else {
    height = nativeSize / Math.sqrt(aspect);
    width = height * aspect;
  }
  const round = (side: number) => Math.max(multiple, Math.round(side / multiple) * multiple);
  return { width: round(width), height: round(height) };
}
