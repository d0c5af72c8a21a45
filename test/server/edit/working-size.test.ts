import { PIXEL_SPACE_MAX_PIXELS, workingSize, workingSizeFor } from '@pixels/server/edit/working-size.ts';
import { describe, expect, it } from 'vitest';

describe('workingSize', () => {
  it('keeps the native area and the aspect, in multiples the model needs', () => {
    expect(workingSize({ width: 512, height: 512 }, 512, 8)).toEqual({ width: 512, height: 512 });
    expect(workingSize({ width: 64, height: 64 }, 512, 8)).toEqual({ width: 512, height: 512 });
    expect(workingSize({ width: 2000, height: 1000 }, 1024, 8)).toEqual({ width: 1448, height: 728 });
    expect(workingSize({ width: 1000, height: 2000 }, 512, 64)).toEqual({ width: 384, height: 704 });
  });
});

describe('workingSizeFor', () => {
  const pixelSpace = { nativeSize: 512, sizeMultiple: 1, vaeScaleFactor: 1 };
  const latent = { nativeSize: 512, sizeMultiple: 8, vaeScaleFactor: 8 };
  it("runs a pixel-space model at the source's own size", () => {
    expect(workingSizeFor({ width: 1024, height: 1024 }, pixelSpace, 1 << 24)).toEqual({ width: 1024, height: 1024 });
    expect(workingSizeFor({ width: 301, height: 77 }, pixelSpace, 1 << 24)).toEqual({ width: 301, height: 77 });
  });
  it('scales a pixel-space model down to the pixel limit and the time budget, keeping the aspect', () => {
    expect(workingSizeFor({ width: 2000, height: 1000 }, pixelSpace, 500_000)).toEqual({ width: 1000, height: 500 });
    const huge = workingSizeFor({ width: 8000, height: 4000 }, pixelSpace, 1 << 30);
    expect(huge.width * huge.height).toBeLessThanOrEqual(PIXEL_SPACE_MAX_PIXELS);
    expect(huge.width / huge.height).toBeCloseTo(2, 2);
  });
  it('keeps the native-area rule for latent models', () => {
    expect(workingSizeFor({ width: 1024, height: 1024 }, latent, 1 << 24)).toEqual({ width: 512, height: 512 });
    expect(workingSizeFor({ width: 64, height: 64 }, latent, 1 << 24)).toEqual({ width: 512, height: 512 });
  });
});
