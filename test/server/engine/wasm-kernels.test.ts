import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { describe, expect, it } from 'vitest';
import { assembleWasmKernel, WASM_KERNELS } from '../../../scripts/wasm-kernel-assembly.ts';

describe('the engine’s WebAssembly kernels', () => {
  for (const kernel of WASM_KERNELS) {
    it(`${basename(kernel.module)} is exactly what ${basename(kernel.source)} assembles to (regenerate with scripts/generate-wasm-kernels.ts)`, async () => {
      const assembled = await assembleWasmKernel(basename(kernel.source), await readFile(kernel.source, 'utf8'));
      const carried = ((await import(kernel.module)) as Record<string, string>)[kernel.constant];
      expect(Buffer.from(carried, 'base64').equals(Buffer.from(assembled))).toBe(true);
    });
  }
});
