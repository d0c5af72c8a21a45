import { readFileSync } from 'node:fs';
import { decodeRgba, encodePng, resizeRaw } from './src/images/codec.ts';
import { encodePngParallel } from './src/images/png-encoder.ts';

const img = await resizeRaw(
  await decodeRgba(new Uint8Array(readFileSync('../test/fixtures/images/gravel.png')), 1 << 26),
  4096,
  4096,
  'cover',
);
for (const level of [1, 2, 3, 6]) {
  const t = performance.now();
  const png = await encodePngParallel(img, { level });
  const t2 = performance.now();
  const back = await decodeRgba(png, 1 << 26);
  console.log(
    level,
    (t2 - t).toFixed(0),
    'ms',
    (png.length / 1e6).toFixed(1),
    'MB; decode',
    (performance.now() - t2).toFixed(0),
    Buffer.from(back.data).equals(Buffer.from(img.data)),
  );
}
const small = await resizeRaw(img, 512, 512);
let t = performance.now();
const a = await encodePng(small);
console.log('sharp 512', (performance.now() - t).toFixed(0), a.length);
t = performance.now();
const b = await encodePngParallel(small);
console.log('ours 512', (performance.now() - t).toFixed(0), b.length);
