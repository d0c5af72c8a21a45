import { z } from 'zod';
import { PendingJob } from '../messages/job-records.ts';
import { Connection, DEFAULT_CONNECTION, DEFAULT_PANEL_SETTINGS, PanelSettings } from '../messages/panel-settings.ts';
import type { FigmaSurface, SurfaceClientStorage } from './figma-surface.ts';

/**
 * What the plugin keeps between runs. Connection and panel settings are per user (clientStorage,
 * since the panel's iframe has no localStorage); pending jobs are per user and per document, so a
 * reopened plugin resumes only the jobs of the file it is running in.
 */
const CONNECTION_KEY = 'pixels.connection';
const SETTINGS_KEY = 'pixels.panelSettings';
const PENDING_KEY_PREFIX = 'pixels.pendingJobs.';
const DOCUMENT_KEY = 'pixels.documentKey';

async function readStored<T>(
  storage: SurfaceClientStorage,
  key: string,
  schema: z.ZodType<T>,
  fallback: T,
): Promise<T> {
  const parsed = schema.safeParse(await storage.getAsync(key));
  // Missing or written by an older version: start from the defaults rather than fail.
  return parsed.success ? parsed.data : fallback;
}

export function loadConnection(storage: SurfaceClientStorage): Promise<Connection> {
  return readStored(storage, CONNECTION_KEY, Connection, DEFAULT_CONNECTION);
}

export function saveConnection(storage: SurfaceClientStorage, connection: Connection): Promise<void> {
  return storage.setAsync(CONNECTION_KEY, connection);
}

export function loadPanelSettings(storage: SurfaceClientStorage): Promise<PanelSettings> {
  return readStored(storage, SETTINGS_KEY, PanelSettings, DEFAULT_PANEL_SETTINGS);
}

export function savePanelSettings(storage: SurfaceClientStorage, settings: PanelSettings): Promise<void> {
  return storage.setAsync(SETTINGS_KEY, settings);
}

/** A random key stored in the document itself, to tell documents apart in clientStorage. */
export function documentKeyOf(api: Pick<FigmaSurface, 'root'>): string {
  let key = api.root.getPluginData(DOCUMENT_KEY);
  if (!key) {
    key = `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}`;
    api.root.setPluginData(DOCUMENT_KEY, key);
  }
  return key;
}

const PendingJobs = z.array(z.unknown());

export async function loadPendingJobs(storage: SurfaceClientStorage, documentKey: string): Promise<PendingJob[]> {
  const stored = await readStored(storage, PENDING_KEY_PREFIX + documentKey, PendingJobs, []);
  return stored.flatMap((entry) => {
    const parsed = PendingJob.safeParse(entry);
    return parsed.success ? [parsed.data] : [];
  });
}

export async function addPendingJob(
  storage: SurfaceClientStorage,
  documentKey: string,
  job: PendingJob,
): Promise<void> {
  const jobs = (await loadPendingJobs(storage, documentKey)).filter((pending) => pending.jobId !== job.jobId);
  await storage.setAsync(PENDING_KEY_PREFIX + documentKey, [...jobs, job]);
}

export async function removePendingJob(
  storage: SurfaceClientStorage,
  documentKey: string,
  jobId: string,
): Promise<void> {
  const jobs = await loadPendingJobs(storage, documentKey);
  const remaining = jobs.filter((pending) => pending.jobId !== jobId);
  if (remaining.length === 0) await storage.deleteAsync(PENDING_KEY_PREFIX + documentKey);
  else if (remaining.length !== jobs.length) await storage.setAsync(PENDING_KEY_PREFIX + documentKey, remaining);
}
