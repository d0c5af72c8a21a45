// Worker threads do not inherit the parent's module hooks on Node 20, so the worker registers
// tsx itself before loading the TypeScript source.
import { register } from 'tsx/esm/api';

register();
await import('./edit-worker.ts');
