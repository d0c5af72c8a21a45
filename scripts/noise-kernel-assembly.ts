import { fileURLToPath } from 'node:url';
import wabt from 'wabt';

export const NOISE_KERNEL_SOURCE = fileURLToPath(new URL('../server/src/engine/noise-kernel.wat', import.meta.url));
export const NOISE_KERNEL_WASM_MODULE = fileURLToPath(
  new URL('../server/src/engine/noise-kernel-wasm.ts', import.meta.url),
);

/** The WebAssembly binary of a .wat text, as wabt assembles it (no names section, so it is stable). */
export async function assembleNoiseKernel(text: string): Promise<Uint8Array> {
  const module = (await wabt()).parseWat('noise-kernel.wat', text);
  try {
    module.validate();
    return module.toBinary({ write_debug_names: false }).buffer;
  } finally {
    module.destroy();
  }
}
