import { z } from 'zod';

/** Encoded image bytes; postMessage carries Uint8Array between the main thread and the panel. */
export const Bytes = z.custom<Uint8Array>(
  (value) => value instanceof Uint8Array,
  'expected a Uint8Array of image bytes',
);
