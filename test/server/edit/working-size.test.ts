import { workingSize } from '@pixels/server/edit/working-size.ts';
import { describe, expect, it } from 'vitest';

describe('workingSize', () => {
  it('keeps the native area and the aspect, in multiples the model needs', () => {
    expect(workingSize({ width: 512, height: 512 }, 512, 8)).toEqual({ width: 512, height: 512 });
    expect(workingSize({ width: 64, height: 64 }, 512, 8)).toEqual({ width: 512, height: 512 });
    expect(workingSize({ width: 2000, height: 1000 }, 1024, 8)).toEqual({ width: 1448, height: 728 });
    expect(workingSize({ width: 1000, height: 2000 }, 512, 64)).toEqual({ width: 384, height: 704 });
  });
});
