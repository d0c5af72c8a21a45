/** The devices a user can ask for; kept apart from execution-providers.ts so parsing a flag loads no native code. */
export const DEVICES = ['auto', 'cpu', 'cuda', 'webgpu'] as const;
export type Device = (typeof DEVICES)[number];
