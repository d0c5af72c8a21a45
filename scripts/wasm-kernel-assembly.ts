import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

/** A WebAssembly kernel of the engine: its .wat text, and the module that carries its bytes. */
export interface WasmKernel {
  source: string;
  module: string;
  /** The name of the base64 constant the module exports. */
  constant: string;
}

const engineFile = (name: string) => fileURLToPath(new URL(`../server/src/engine/${name}`, import.meta.url));

export const WASM_KERNELS: readonly WasmKernel[] = [
  { source: engineFile('noise-kernel.wat'), module: engineFile('noise-kernel-wasm.ts'), constant: 'NOISE_KERNEL_WASM' },
  {
    source: engineFile('held-source-kernel.wat'),
    module: engineFile('held-source-kernel-wasm.ts'),
    constant: 'HELD_SOURCE_KERNEL_WASM',
  },
];

/** The WebAssembly binary of a .wat text, as wabt assembles it (no names section, so it is stable). */
export async function assembleWasmKernel(name: string, text: string): Promise<Uint8Array> {
  const module = (await wabt()).parseWat(name, text);
  try {
    module.validate();
    return module.toBinary({ write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
