/**
 * Paint order of layers anywhere in a page, from their index paths (the child index at every level
 * from the page down). A parent paints before its children and earlier siblings before later ones,
 * so comparing paths lexicographically, with a prefix first, sorts back to front.
 */
export function comparePaintOrder(a: readonly number[], b: readonly number[]): number {
  const shared = Math.min(a.length, b.length);
  for (let level = 0; level < shared; level++) {
    if (a[level] !== b[level]) return a[level] - b[level];
  }
  return a.length - b.length;
}
