import type { SchedulerConfig, SchedulerName } from '@pixels/server/engine/scheduler.ts';
import { createScheduler } from '@pixels/server/engine/schedulers/create-scheduler.ts';
import { describe, expect, it } from 'vitest';

// Expected tables were computed independently with a numpy transcription of each diffusers
// class's set_timesteps (np.round, np.arange and np.linspace as diffusers calls them) and pinned.
const SD_BETAS: SchedulerConfig = { beta_start: 0.00085, beta_end: 0.012, beta_schedule: 'scaled_linear' };

function timestepsOf(
  name: SchedulerName,
  spacing: 'leading' | 'trailing' | 'linspace' | undefined,
  count: number,
  stepsOffset = 0,
  extra: SchedulerConfig = {},
): readonly number[] {
  const scheduler = createScheduler(
    { ...SD_BETAS, timestep_spacing: spacing, steps_offset: stepsOffset, ...extra },
    name,
  );
  scheduler.setTimesteps(count);
  return scheduler.timesteps;
}

describe('DDIM timesteps', () => {
  it('leading: (0..N-1) * (T // N) reversed, plus steps_offset', () => {
    expect(timestepsOf('ddim', 'leading', 10, 1)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
    expect(timestepsOf('ddim', 'leading', 10, 0)).toEqual([900, 800, 700, 600, 500, 400, 300, 200, 100, 0]);
    expect(timestepsOf('ddim', 'leading', 20, 1)).toEqual([
      951, 901, 851, 801, 751, 701, 651, 601, 551, 501, 451, 401, 351, 301, 251, 201, 151, 101, 51, 1,
    ]);
    const fifty = timestepsOf('ddim', 'leading', 50, 1);
    expect(fifty).toHaveLength(50);
    expect(fifty.slice(0, 3)).toEqual([981, 961, 941]);
    expect(fifty.slice(-3)).toEqual([41, 21, 1]);
  });

  it('trailing: round(arange(T, 0, -T/N)) - 1, steps_offset ignored, halves to even', () => {
    expect(timestepsOf('ddim', 'trailing', 10, 1)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
    expect(timestepsOf('ddim', 'trailing', 20, 0)).toEqual([
      999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 499, 449, 399, 349, 299, 249, 199, 149, 99, 49,
    ]);
    // 937.5 -> 938, 812.5 -> 812: np.round, not Math.round.
    expect(timestepsOf('ddim', 'trailing', 16, 0)).toEqual([
      999, 937, 874, 811, 749, 687, 624, 561, 499, 437, 374, 311, 249, 187, 124, 61,
    ]);
  });

  it('linspace: round(linspace(0, T-1, N)) reversed, steps_offset ignored', () => {
    expect(timestepsOf('ddim', 'linspace', 10, 1)).toEqual([999, 888, 777, 666, 555, 444, 333, 222, 111, 0]);
    expect(timestepsOf('ddim', 'linspace', 20, 0)).toEqual([
      999, 946, 894, 841, 789, 736, 684, 631, 578, 526, 473, 421, 368, 315, 263, 210, 158, 105, 53, 0,
    ]);
    expect(timestepsOf('ddim', 'linspace', 7, 0)).toEqual([999, 832, 666, 500, 333, 166, 0]);
    const fifty = timestepsOf('ddim', 'linspace', 50, 0);
    expect(fifty.slice(0, 6)).toEqual([999, 979, 958, 938, 917, 897]);
    expect(fifty.slice(-4)).toEqual([61, 41, 20, 0]);
  });

  it('defaults to leading spacing, as diffusers DDIMScheduler does', () => {
    expect(timestepsOf('ddim', undefined, 4, 1)).toEqual([751, 501, 251, 1]);
  });
});

describe('Euler and Euler ancestral timesteps', () => {
  for (const name of ['euler', 'euler-ancestral'] as const) {
    it(`${name}: leading and trailing give the DDIM integers`, () => {
      expect(timestepsOf(name, 'leading', 10, 1)).toEqual([901, 801, 701, 601, 501, 401, 301, 201, 101, 1]);
      expect(timestepsOf(name, 'trailing', 4, 1)).toEqual([999, 749, 499, 249]);
      expect(timestepsOf(name, 'trailing', 1, 1)).toEqual([999]);
    });

    it(`${name}: linspace keeps unrounded float32 values and is the default`, () => {
      expect(timestepsOf(name, 'linspace', 4)).toEqual([999, 666, 333, 0]);
      expect(timestepsOf(name, undefined, 20)).toEqual([
        999, 946.4210815429688, 893.8421020507812, 841.26318359375, 788.6842041015625, 736.1052856445312,
        683.5263061523438, 630.9473876953125, 578.368408203125, 525.7894897460938, 473.2105407714844, 420.631591796875,
        368.0526428222656, 315.47369384765625, 262.8947448730469, 210.3157958984375, 157.73684692382812,
        105.15789794921875, 52.578948974609375, 0,
      ]);
    });
  }
});

describe('DPM-Solver++ timesteps', () => {
  it('linspace (its default): round(linspace(0, T-1, N+1)) reversed, last dropped', () => {
    expect(timestepsOf('dpm++2m', undefined, 10)).toEqual([999, 899, 799, 699, 599, 500, 400, 300, 200, 100]);
    expect(timestepsOf('dpm++2m', 'linspace', 20, 1)).toEqual([
      999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250, 200, 150, 100, 50,
    ]);
  });

  it('leading: (0..N) * (T // (N+1)) reversed, last dropped, plus steps_offset', () => {
    expect(timestepsOf('dpm++2m', 'leading', 10, 1)).toEqual([901, 811, 721, 631, 541, 451, 361, 271, 181, 91]);
    expect(timestepsOf('dpm++2m', 'leading', 20, 1)).toEqual([
      941, 894, 847, 800, 753, 706, 659, 612, 565, 518, 471, 424, 377, 330, 283, 236, 189, 142, 95, 48,
    ]);
  });

  it('trailing matches DDIM', () => {
    expect(timestepsOf('dpm++2m', 'trailing', 10, 1)).toEqual([999, 899, 799, 699, 599, 499, 399, 299, 199, 99]);
  });

  it('cuts timesteps whose log-SNR is below lambda_min_clipped', () => {
    // SD: lambda_t = 0.5 ln(a_t / (1 - a_t)) is below -2.5 from t = 969 on, so 31 timesteps go.
    const clipped = timestepsOf('dpm++2m', 'linspace', 10, 0, { lambda_min_clipped: -2.5 });
    expect(clipped).toEqual([968, 871, 774, 678, 581, 484, 387, 290, 194, 97]);
  });
});

describe('LCM timesteps', () => {
  it('picks N of the 50 distillation timesteps, ignoring spacing and offset', () => {
    expect(timestepsOf('lcm', undefined, 4, 1)).toEqual([999, 759, 499, 259]);
    expect(timestepsOf('lcm', 'trailing', 4, 0)).toEqual([999, 759, 499, 259]);
    expect(timestepsOf('lcm', undefined, 1)).toEqual([999]);
    expect(timestepsOf('lcm', undefined, 2)).toEqual([999, 499]);
    expect(timestepsOf('lcm', undefined, 8)).toEqual([999, 879, 759, 639, 499, 379, 259, 139]);
  });

  it('follows original_inference_steps', () => {
    expect(timestepsOf('lcm', undefined, 4, 0, { original_inference_steps: 100 })).toEqual([999, 749, 499, 249]);
  });

  it('refuses more steps than the distillation schedule has', () => {
    expect(() => timestepsOf('lcm', undefined, 51)).toThrow(
      'lcm scheduler: steps must be an integer in [1, 50], got 51',
    );
  });
});
