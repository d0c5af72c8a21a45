export interface Size {
  width: number;
  height: number;
}

/**
 * The resolution the model runs at: the source's aspect ratio at the model's native area
 * (nativeSize², where it was trained), each side rounded to a multiple the model needs. Small
 * sources are scaled up, since latent diffusion models degrade far below their native size.
 */
export function workingSize(source: Size, nativeSize: number, multiple: number): Size {
  const aspect = source.width / source.height;
  const height = nativeSize / Math.sqrt(aspect);
  const width = height * aspect;
  const round = (side: number) => Math.max(multiple, Math.round(side / multiple) * multiple);
  return { width: round(width), height: round(height) };
}
