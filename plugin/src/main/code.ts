/** The plugin's main-thread entry: Figma runs the bundle of this file (dist/code.js). */
import { startPlugin } from './plugin-controller.ts';

// Passing the real `figma` here is also the compile-time proof that it satisfies FigmaSurface.
void startPlugin(figma, __html__);
