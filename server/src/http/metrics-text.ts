import type { WorkerStatus } from '@pixels/shared';
import type { QueueStats } from '../jobs/job-queue.ts';
import type { JobMetrics } from '../observability/job-metrics.ts';
import { renderLabelled, renderSingle } from '../observability/prometheus.ts';

/** The `/metrics` body: queue gauges sampled now, then the durations and counts recorded so far. */
export function renderMetricsText(
  stats: QueueStats,
  metrics: JobMetrics,
  server: {
    /** Per-worker figures (one series per worker, labelled by name and device). */
    workers?: readonly WorkerStatus[];
    openEventStreams: number;
    maxStallMs: number;
    maxBusyStallMs: number | undefined;
    requestStallsMs?: { upload: number; download: number };
    requestBusyStallsMs?: { upload: number; download: number };
  },
): string {
  return `${[
    ...renderSingle('pixels_queue_depth', 'Jobs waiting to start.', 'gauge', stats.queued),
    ...renderLabelled('pixels_jobs', 'Jobs held now (finished ones until they expire), by state.', 'gauge', 'state', {
      ...stats.byState,
    }),
    ...renderSingle('pixels_workers', 'Workers, one per configured device.', 'gauge', stats.workers),
    ...renderSingle(
      'pixels_workers_live',
      'Workers with a live thread (a dead one is being replaced).',
      'gauge',
      stats.liveWorkers,
    ),
    ...renderSingle(
      'pixels_queued_input_bytes',
      'Bytes of input images held by queued and running jobs.',
      'gauge',
      stats.queuedInputBytes,
    ),
    ...renderSingle('pixels_result_bytes', 'Bytes of finished results kept on disk.', 'gauge', stats.resultBytes),
    ...renderSingle('pixels_workers_busy', 'Workers running a job now.', 'gauge', stats.running),
    ...renderSingle('pixels_event_streams_open', 'Open progress streams.', 'gauge', server.openEventStreams),
    ...renderSingle(
      'pixels_event_loop_stall_max_seconds',
      'Largest event-loop stall while jobs ran, since start (includes waiting for a core).',
      'gauge',
      server.maxStallMs / 1000,
    ),
    ...(server.maxBusyStallMs === undefined
      ? []
      : renderSingle(
          'pixels_event_loop_busy_stall_max_seconds',
          'Largest event-loop stall while jobs ran that the HTTP thread spent running (Linux).',
          'gauge',
          server.maxBusyStallMs / 1000,
        )),
    ...(server.requestStallsMs
      ? renderLabelled(
          'pixels_event_loop_request_stall_max_seconds',
          'Largest event-loop stall while uploads were parsed or results streamed, since start.',
          'gauge',
          'during',
          { upload: server.requestStallsMs.upload / 1000, download: server.requestStallsMs.download / 1000 },
        )
      : []),
    ...(server.requestBusyStallsMs
      ? renderLabelled(
          'pixels_event_loop_request_busy_stall_max_seconds',
          'The same, counting only time the HTTP thread spent running (Linux).',
          'gauge',
          'during',
          { upload: server.requestBusyStallsMs.upload / 1000, download: server.requestBusyStallsMs.download / 1000 },
        )
      : []),
    ...renderWorkerFigures(server.workers ?? []),
    ...metrics.render(),
  ].join('\n')}\n`;
}

function renderWorkerFigures(workers: readonly WorkerStatus[]): string[] {
  if (workers.length === 0) return [];
  const label = (worker: WorkerStatus, extra = '') =>
    `{worker="${escapeLabel(worker.name)}",device="${escapeLabel(worker.devices.join(','))}"${extra}}`;
  const lines = [
    '# HELP pixels_worker_up Whether the worker is live (1) or lost (0).',
    '# TYPE pixels_worker_up gauge',
    ...workers.map((worker) => `pixels_worker_up${label(worker)} ${worker.state === 'live' ? 1 : 0}`),
    '# HELP pixels_worker_jobs_total Jobs each worker finished, by how they ended.',
    '# TYPE pixels_worker_jobs_total counter',
  ];
  for (const worker of workers) {
    for (const [state, count] of Object.entries(worker.jobs)) {
      lines.push(`pixels_worker_jobs_total${label(worker, `,state="${state}"`)} ${count}`);
    }
  }
  lines.push(
    '# HELP pixels_worker_step_seconds Denoising steps each worker ran and the seconds they took.',
    '# TYPE pixels_worker_step_seconds summary',
    ...workers.flatMap((worker) => [
      `pixels_worker_step_seconds_sum${label(worker)} ${worker.stepSeconds}`,
      `pixels_worker_step_seconds_count${label(worker)} ${worker.steps}`,
    ]),
  );
  return lines;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}
