/**
 * The worked example's exemplar: the grass fixture with its left half transparent (so the map
 * comes from its alpha). Used by the docs example and the benchmark.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { decodeRgba, encodePng } from '@pixels/server/images/codec.ts';

const FIXTURES = join(import.meta.dirname, '..', 'test', 'fixtures', 'images');

export async function writeExampleExemplar(path: string): Promise<void> {
  const grass = await decodeRgba(await readFile(join(FIXTURES, 'grass.png')), 1 << 24);
  const data = new Uint8Array(grass.data);
  for (let i = 0; i < grass.width * grass.height; i++) data[i * 4 + 3] = i % grass.width >= grass.width / 2 ? 255 : 0;
  await writeFile(path, await encodePng({ ...grass, data }));
}
