export * from './curves.ts';
export * from './errors.ts';
export * from './jobs.ts';
export * from './limits.ts';
export * from './map-ops.ts';
export * from './models.ts';
export * from './server-status.ts';
export * from './settings.ts';
