const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * Width and height from a PNG's IHDR chunk. Figma's main thread has no image decoder, and an
 * export's pixel size can differ from the layer's box (effects, strokes), so the header is the truth.
 */
export function readPngSize(bytes: Uint8Array): { width: number; height: number } {
  const isPng = bytes.length >= 24 && PNG_SIGNATURE.every((value, index) => bytes[index] === value);
  const chunkType = String.fromCharCode(bytes[12], bytes[13], bytes[14], bytes[15]);
  if (!isPng || chunkType !== 'IHDR') {
    throw new Error(
      `Expected PNG bytes (starting with the PNG signature and an IHDR chunk), got ${bytes.length} bytes of something else.`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}
