import { readFile } from 'node:fs/promises';
import { NOISE_KERNEL_WASM } from '@pixels/server/engine/noise-kernel-wasm.ts';
import { describe, expect, it } from 'vitest';
import { assembleNoiseKernel, NOISE_KERNEL_SOURCE } from '../../../scripts/noise-kernel-assembly.ts';

describe('the noise kernel', () => {
  it('is exactly what noise-kernel.wat assembles to (regenerate with scripts/generate-noise-kernel.ts)', async () => {
    const assembled = await assembleNoiseKernel(await readFile(NOISE_KERNEL_SOURCE, 'utf8'));
    expect(Buffer.from(NOISE_KERNEL_WASM, 'base64').equals(Buffer.from(assembled))).toBe(true);
  });
});
