/**
 * The server checks its devices before it serves: every runner is probed at start-up (its device
 * started, the built-in model's sessions opened on it and run once). A device that cannot start
 * stops the start with a message naming it, or is dropped with a warning under --devices-fallback.
 * Afterwards each worker is ready until a job fails with `device_unavailable`; it is ready again
 * once a job runs to the end on it, or once a fresh probe passes (asking for readiness starts one).
 */
import type { Logger } from '../observability/logger.ts';
import { EditFailed, toEditFailure } from './edit-failure.ts';
import type { DeviceReport, EditRunner } from './edit-runner.ts';

/** Whether one worker's model session can run, for /readyz. */
export interface WorkerReadiness {
  /** `cpu`, `cuda:N`, `webgpu`. */
  device: string;
  ready: boolean;
  /** Why it is not ready. */
  reason?: string;
}

/** Why a worker is not ready, for the unauthenticated /readyz: the device's own words go to the log only. */
const DEVICE_FAILED = 'its device failed; the server log has the detail under the job id';

/** A runner whose device passed the probe; tracks device failures of later jobs. */
export class ProbedRunner implements EditRunner {
  private deviceFailure: string | undefined;
  private recheck: Promise<void> | undefined;

  constructor(
    private readonly runner: EditRunner,
    readonly report: DeviceReport,
  ) {}

  /** The answer of the last check; while unready, also starts a fresh probe for the next ask. */
  readiness(): WorkerReadiness {
    if (this.deviceFailure !== undefined) this.probeAgain();
    return {
      device: this.report.device,
      ready: this.deviceFailure === undefined,
      ...(this.deviceFailure ? { reason: this.deviceFailure } : {}),
    };
  }

  async run(...args: Parameters<EditRunner['run']>): ReturnType<EditRunner['run']> {
    try {
      const outcome = await this.runner.run(...args);
      this.deviceFailure = undefined;
      return outcome;
    } catch (error) {
      if (toEditFailure(error).code === 'device_unavailable') this.deviceFailure = DEVICE_FAILED;
      throw error;
    }
  }

  /** Probes the device again (one probe at a time); a pass makes the worker ready, a failure keeps why. */
  probeAgain(): Promise<void> {
    this.recheck ??= this.runner
      .probe()
      .then(
        () => {
          this.deviceFailure = undefined;
        },
        () => {
          this.deviceFailure = DEVICE_FAILED;
        },
      )
      .finally(() => {
        this.recheck = undefined;
      });
    return this.recheck;
  }

  get isAlive(): boolean {
    return this.runner.isAlive;
  }

  listModels(): ReturnType<EditRunner['listModels']> {
    return this.runner.listModels();
  }

  probe(): Promise<DeviceReport> {
    return this.runner.probe();
  }

  close(): Promise<void> {
    return this.runner.close();
  }
}

/** No device could start, or one could not and --devices-fallback was not given. */
export class DeviceStartError extends Error {}

const FALLBACK_HINT =
  "Fix the device, leave it out of --devices, or add --devices-fallback to serve on the devices that start ('pixels models devices' tests each one).";

/**
 * Probes every runner at once. Without `fallback`, any failure closes every runner and throws;
 * with it, failed runners are closed and dropped with a warning, and only none left is an error.
 * @throws DeviceStartError naming each device that failed and why
 */
export async function probeRunners(
  runners: readonly EditRunner[],
  options: { fallback: boolean; logger: Logger },
): Promise<ProbedRunner[]> {
  const outcomes = await Promise.allSettled(runners.map((runner) => runner.probe()));
  const probed: ProbedRunner[] = [];
  const failures: string[] = [];
  for (const [index, outcome] of outcomes.entries()) {
    if (outcome.status === 'fulfilled') {
      probed.push(new ProbedRunner(runners[index], outcome.value));
      options.logger.info('worker ready', { worker: index + 1, ...outcome.value });
      continue;
    }
    // For the admin at start-up: the device's own words (EditFailed keeps them as its detail).
    const reason = outcome.reason as Error;
    const message = reason instanceof EditFailed ? (reason.failure.detail ?? reason.message) : reason.message;
    failures.push(`worker ${index + 1}: ${message}`);
    if (options.fallback) options.logger.warn('device dropped: it cannot start', { worker: index + 1, error: message });
  }
  if (failures.length === 0) return probed;
  if (options.fallback && probed.length > 0) {
    await Promise.all(
      outcomes.map((outcome, index) => (outcome.status === 'rejected' ? runners[index].close() : undefined)),
    );
    return probed;
  }
  await Promise.all(runners.map((runner) => runner.close()));
  const what =
    failures.length === runners.length
      ? runners.length === 1
        ? 'its device cannot start'
        : 'none of its devices can start'
      : `${failures.length} of its ${runners.length} devices cannot start`;
  throw new DeviceStartError(
    `Not starting: ${what}.\n${failures.join('\n')}\n${options.fallback ? "Fix a device or leave the broken ones out of --devices ('pixels models devices' tests each one)." : FALLBACK_HINT}`,
  );
}
