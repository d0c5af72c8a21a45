import { crc32, deflateSync } from 'node:zlib';
import type { Raster } from '../../../plugin/src/png/raster.ts';

/**
 * PNG encoding in native code (Node's zlib, the "up" filter throughout), standing in for Figma's
 * own exporter, which is native too: the fake's exports should not cost what a JavaScript encoder
 * would, or the plugin's benchmark would charge Figma's work to the plugin.
 */
export function encodePngNatively(raster: Raster): Uint8Array {
  const { width, height, channels, data } = raster;
  const lineBytes = width * channels;
  const filtered = Buffer.alloc((lineBytes + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (lineBytes + 1);
    filtered[row] = y === 0 ? 0 : 2;
    for (let i = 0; i < lineBytes; i++) {
      const value = data[y * lineBytes + i];
      filtered[row + 1 + i] = y === 0 ? value : (value - data[(y - 1) * lineBytes + i]) & 0xff;
    }
  }
  const chunk = (type: string, body: Buffer) => {
    const out = Buffer.alloc(12 + body.length);
    out.writeUInt32BE(body.length, 0);
    out.write(type, 4, 'latin1');
    body.copy(out, 8);
    out.writeUInt32BE(crc32(out.subarray(4, 8 + body.length)), 8 + body.length);
    return out;
  };
  const header = Buffer.alloc(13);
  header.writeUInt32BE(width, 0);
  header.writeUInt32BE(height, 4);
  header[8] = 8;
  header[9] = channels === 4 ? 6 : 0;
  return new Uint8Array(
    Buffer.concat([
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
      chunk('IHDR', header),
      chunk('IDAT', deflateSync(filtered)),
      chunk('IEND', Buffer.alloc(0)),
    ]),
  );
}
