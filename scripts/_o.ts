import { runImg2ImgPass } from '@pixels/server/engine/img2img.ts';
import { createNoise } from '@pixels/server/engine/noise.ts';
import { runPixelsPass } from '@pixels/server/engine/pixels-loop.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';

const shape = [1, 3, 512, 512];
const n = 3 * 512 * 512;
const cells = 512 * 512;
const model: any = {
  info: { guidanceMode: 'none', schedulerConfig: { _class_name: 'DDIMScheduler', steps_offset: 1 } },
  predict: async (input: any) => ({
    conditional: { data: new Float32Array(input.sample.data.length), shape: input.sample.shape },
  }),
};
const source = { data: new Float32Array(n).fill(0.3), shape };
const exemplar = { data: new Float32Array(n).fill(-0.3), shape };
const hold = new Float32Array(cells).map((_, i) => (i % 512) / 512);
const cov = new Float32Array(cells).map((_, i) => (i % 512 > 256 ? 1 : 0));
for (let r = 0; r < 6; r++) {
  let s = createScheduler(model.info.schedulerConfig);
  s.setTimesteps(20);
  let t = performance.now();
  await runImg2ImgPass({
    model,
    scheduler: s,
    conditioning: { hasUnconditional: false },
    guidance: 1,
    reference: source,
    noise: createNoise(1),
    source,
    startIndex: 0,
  });
  const a = performance.now() - t;
  s = createScheduler(model.info.schedulerConfig);
  s.setTimesteps(20);
  t = performance.now();
  await runPixelsPass({
    model,
    scheduler: s,
    conditioning: { hasUnconditional: false },
    guidance: 1,
    noise: createNoise(1),
    source,
    exemplars: [{ latent: exemplar, coverage: cov }],
    holdMap: hold,
    startIndex: 0,
    curve: 'linear',
  });
  const b = performance.now() - t;
  console.log('img2img', a.toFixed(0), 'pixels', b.toFixed(0));
}
