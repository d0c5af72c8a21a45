import { readFile } from 'node:fs/promises';
import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { createJobQueue } from '@pixels/server/jobs/job-queue.ts';
import { ResultStore } from '@pixels/server/jobs/result-store.ts';
import { describeJobQueueConformance } from './job-queue-conformance.ts';
import { ScriptedEditRunner } from './scripted-edit-runner.ts';

describeJobQueueConformance('in-process', async ({ workers, runner, limits, retentionMs }) => {
  const runners = Array.from({ length: workers }, () => new ScriptedEditRunner(runner));
  const results = new ResultStore();
  const queue = createJobQueue({ runners, limits: { ...DEFAULT_SERVER_LIMITS, ...limits }, results, retentionMs });
  return {
    queue,
    runners,
    readResult: async (job) => new Uint8Array(await readFile(job.result!.file)),
    close: async () => {
      await queue.drain(0);
      await results.close();
    },
  };
});
