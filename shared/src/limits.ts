/** Default limits shared by the server, the CLI and the plugin (the server may be configured lower or higher). */
export const DEFAULT_LIMITS = Object.freeze({
  /** Pixels per input image, checked from the file header before decoding. */
  maxPixels: 4096 * 4096,
  maxExemplars: 8,
  maxSteps: 150,
  maxPromptLength: 1000,
  /** Bytes of one multipart request. */
  maxBodyBytes: 64 * 1024 * 1024,
});

/** The most `maxPixels` may be configured to: every full-size buffer is 8-bit RGBA, 256 MiB at 8192². */
export const PIXEL_LIMIT_CEILING = 8192 * 8192;
