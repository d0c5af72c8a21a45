/** The built-in model: an SD-shaped ONNX folder with an analytic denoiser, generated on demand. */
export { REFERENCE_INPUT, SOURCE_INPUT } from '../exemplar-inputs.ts';
export { BUILTIN_DESIGN } from './builtin-design.ts';
export { generateBuiltinModel, holdsCurrentVersion, UNET_EXTERNAL_DATA } from './generate.ts';
export { BUILTIN_SCHEDULER_CONFIG } from './scheduler-config.ts';
