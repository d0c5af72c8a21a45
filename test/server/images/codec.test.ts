import {
  composeRow,
  decodeLuminance,
  decodeRgba,
  encodePng,
  encodePreviewJpeg,
  placeOnCanvas,
  type RawImage,
  readHeader,
  resizeRaw,
} from '@pixels/server/images/codec.ts';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';

const RED = [255, 0, 0];
const GREEN = [0, 255, 0];
const BLUE = [0, 0, 255];
const WHITE = [255, 255, 255];
const DARK = [10, 20, 30];
const GREY = [40, 50, 60];

/** 3x2 RGB: row 0 red, green, blue; row 1 white, dark, grey. Every pixel different, so any turn shows. */
const STORED_PIXELS = [RED, GREEN, BLUE, WHITE, DARK, GREY];

async function pngOf(pixels: number[][], width: number, height: number, orientation?: number): Promise<Uint8Array> {
  const channels = pixels[0].length as 1 | 2 | 3 | 4;
  let image = sharp(Buffer.from(pixels.flat()), { raw: { width, height, channels } }).png();
  if (orientation !== undefined) image = image.withMetadata({ orientation });
  return new Uint8Array(await image.toBuffer());
}

/** The pixels of a raw image, one array per pixel. */
function pixelsOf(image: RawImage): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < image.width * image.height; i++) {
    out.push([...image.data.subarray(i * image.channels, (i + 1) * image.channels)]);
  }
  return out;
}

function opaque(rgb: number[]): number[] {
  return [...rgb, 255];
}

describe('decodeRgba', () => {
  it('refuses bytes that are no image, and images over maxPixels, before decoding', async () => {
    await expect(decodeRgba(new TextEncoder().encode('not an image'), 1 << 20)).rejects.toThrow(
      'Input buffer contains unsupported image format',
    );
    const png = await pngOf(STORED_PIXELS, 3, 2);
    await expect(decodeRgba(png, 5)).rejects.toThrow('Input image exceeds pixel limit');
    await expect(decodeRgba(png, 6)).resolves.toMatchObject({ width: 3, height: 2, channels: 4 });
  });

  it('adds an opaque alpha to RGB and keeps the colours exactly', async () => {
    const image = await decodeRgba(await pngOf(STORED_PIXELS, 3, 2), 1 << 20);
    expect([image.width, image.height, image.channels]).toEqual([3, 2, 4]);
    expect(pixelsOf(image)).toEqual(STORED_PIXELS.map(opaque));
  });

  it('expands grey and grey+alpha to RGBA, keeping the alpha', async () => {
    const grey = await decodeRgba(await pngOf([[0], [128], [255], [7]], 2, 2), 1 << 20);
    expect(pixelsOf(grey)).toEqual([
      [0, 0, 0, 255],
      [128, 128, 128, 255],
      [255, 255, 255, 255],
      [7, 7, 7, 255],
    ]);
    const greyAlpha = await decodeRgba(
      await pngOf(
        [
          [200, 0],
          [100, 128],
        ],
        2,
        1,
      ),
      1 << 20,
    );
    expect(pixelsOf(greyAlpha)).toEqual([
      [200, 200, 200, 0],
      [100, 100, 100, 128],
    ]);
  });

  it('keeps RGBA as it is', async () => {
    const pixels = [
      [1, 2, 3, 0],
      [250, 251, 252, 77],
    ];
    expect(pixelsOf(await decodeRgba(await pngOf(pixels, 2, 1), 1 << 20))).toEqual(pixels);
  });

  it.each([
    // Orientation 6: turn 90° clockwise to view; 3 are the stored columns, read bottom-up.
    [6, 2, 3, [WHITE, RED, DARK, GREEN, GREY, BLUE]],
    // Orientation 3: turned half round.
    [3, 3, 2, [GREY, DARK, WHITE, BLUE, GREEN, RED]],
    // Orientation 8: turn 90° anticlockwise to view.
    [8, 2, 3, [BLUE, GREY, GREEN, DARK, RED, WHITE]],
    // Orientation 2: mirrored left to right.
    [2, 3, 2, [BLUE, GREEN, RED, GREY, DARK, WHITE]],
  ])('applies EXIF orientation %i: upright %ix%i', async (orientation, width, height, upright) => {
    const image = await decodeRgba(await pngOf(STORED_PIXELS, 3, 2, orientation), 1 << 20);
    expect([image.width, image.height]).toEqual([width, height]);
    expect(pixelsOf(image)).toEqual(upright.map(opaque));
  });
});

describe('decodeLuminance', () => {
  it('gives one channel: grey as it is, transparent pixels black, upright', async () => {
    const grey = await decodeLuminance(await pngOf([[0], [128], [255], [7]], 2, 2), 1 << 20);
    expect([grey.width, grey.height, grey.channels]).toEqual([2, 2, 1]);
    expect([...grey.data]).toEqual([0, 128, 255, 7]);
    const transparent = await decodeLuminance(
      await pngOf(
        [
          [255, 255, 255, 0],
          [255, 255, 255, 255],
          [90, 90, 90, 255],
        ],
        3,
        1,
        6,
      ),
      1 << 20,
    );
    // Orientation 6 stands the 3x1 row up as a 1x3 column, first pixel at the top.
    expect([transparent.width, transparent.height, transparent.channels]).toEqual([1, 3, 1]);
    expect([...transparent.data]).toEqual([0, 255, 90]);
  });

  it('refuses images over maxPixels', async () => {
    await expect(decodeLuminance(await pngOf([[0], [1], [2], [3]], 2, 2), 3)).rejects.toThrow(
      'Input image exceeds pixel limit',
    );
  });
});

describe('resizeRaw', () => {
  const redBlue: RawImage = {
    // 4x2 RGBA: left half red, right half blue.
    data: new Uint8Array([RED, RED, BLUE, BLUE, RED, RED, BLUE, BLUE].flatMap(opaque)),
    width: 4,
    height: 2,
    channels: 4,
  };

  it('returns the same image when the size already matches', async () => {
    expect(await resizeRaw(redBlue, 4, 2)).toBe(redBlue);
  });

  it("'fill' stretches to exactly the size asked, keeping a solid colour solid", async () => {
    const solid: RawImage = { data: new Uint8Array(6 * 4 * 3).fill(90), width: 6, height: 4, channels: 3 };
    const resized = await resizeRaw(solid, 9, 2);
    expect([resized.width, resized.height, resized.channels]).toEqual([9, 2, 3]);
    expect(new Set(resized.data)).toEqual(new Set([90]));
  });

  it("'contain' letterboxes with transparent bands", async () => {
    const contained = await resizeRaw(redBlue, 4, 4, 'contain');
    expect([contained.width, contained.height]).toEqual([4, 4]);
    const alpha = pixelsOf(contained).map((pixel) => pixel[3]);
    expect(alpha).toEqual([0, 0, 0, 0, 255, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0]);
  });

  it("'cover' scales up and crops the centre", async () => {
    // 4x2 to 2x2: the centre 2x2 keeps one red and one blue column.
    const covered = await resizeRaw(redBlue, 2, 2, 'cover', 'linear');
    expect(pixelsOf(covered)).toEqual([RED, BLUE, RED, BLUE].map(opaque));
  });

  it("'linear' stays within the values it interpolates; 'lanczos3' rings past them", async () => {
    // A step from 50 to 200 scaled up 8x: the triangle filter only blends, lanczos overshoots.
    const step: RawImage = { data: new Uint8Array([50, 50, 200, 200]), width: 4, height: 1, channels: 1 };
    const linear = await resizeRaw(step, 32, 1, 'fill', 'linear');
    expect(Math.min(...linear.data)).toBe(50);
    expect(Math.max(...linear.data)).toBe(200);
    const lanczos = await resizeRaw(step, 32, 1, 'fill', 'lanczos3');
    expect(Math.min(...lanczos.data)).toBeLessThan(50);
    expect(Math.max(...lanczos.data)).toBeGreaterThan(200);
  });
});

describe('placeOnCanvas', () => {
  const square: RawImage = {
    data: new Uint8Array([RED, GREEN, BLUE, WHITE].flatMap(opaque)),
    width: 2,
    height: 2,
    channels: 4,
  };
  const clear = [0, 0, 0, 0];

  it('places the image unscaled at (left, top) on a transparent canvas', async () => {
    const placed = await placeOnCanvas(square, 3, 3, 1, 1);
    expect([placed.width, placed.height, placed.channels]).toEqual([3, 3, 4]);
    expect(pixelsOf(placed)).toEqual([
      clear,
      clear,
      clear,
      clear,
      opaque(RED),
      opaque(GREEN),
      clear,
      opaque(BLUE),
      opaque(WHITE),
    ]);
  });

  it('crops what falls outside the canvas', async () => {
    expect(pixelsOf(await placeOnCanvas(square, 2, 2, -1, -1))).toEqual([opaque(WHITE), clear, clear, clear]);
    expect(pixelsOf(await placeOnCanvas(square, 2, 1, 1, 0))).toEqual([clear, opaque(RED)]);
  });

  it('gives a transparent canvas when the image lies wholly outside', async () => {
    const outside = await placeOnCanvas(square, 2, 2, 5, 0);
    expect([outside.width, outside.height, outside.channels]).toEqual([2, 2, 4]);
    expect(outside.data).toEqual(new Uint8Array(16));
  });
});

describe('encoders', () => {
  it('encodePng is lossless: sharp reads back every byte', async () => {
    const image: RawImage = { data: new Uint8Array(STORED_PIXELS.flat()), width: 3, height: 2, channels: 3 };
    const png = await encodePng(image);
    const header = await readHeader(png);
    expect([header.format, header.width, header.height, header.channels]).toEqual(['png', 3, 2, 3]);
    const { data } = await sharp(png).raw().toBuffer({ resolveWithObject: true });
    expect(new Uint8Array(data)).toEqual(image.data);
  });

  it('encodePreviewJpeg writes a JPEG at the size asked, close to the colour given', async () => {
    const image: RawImage = { data: new Uint8Array(16 * 16 * 3).fill(120), width: 16, height: 16, channels: 3 };
    const jpeg = await encodePreviewJpeg(image, 8, 4);
    const header = await readHeader(jpeg);
    expect([header.format, header.width, header.height]).toEqual(['jpeg', 8, 4]);
    const { data } = await sharp(jpeg).raw().toBuffer({ resolveWithObject: true });
    for (const value of data) expect(Math.abs(value - 120)).toBeLessThanOrEqual(2);
  });
});

describe('composeRow', () => {
  it('scales each image to the height and lays them out with gaps on the background', async () => {
    const wide: RawImage = { data: new Uint8Array(4 * 2 * 3).fill(200), width: 4, height: 2, channels: 3 };
    const tall: RawImage = { data: new Uint8Array(1 * 2 * 3).fill(30), width: 1, height: 2, channels: 3 };
    // At height 4: wide becomes 8x4, tall 2x4; with a gap of 1: 1 + 8 + 1 + 2 + 1 = 13 wide, 6 high.
    const row = await composeRow([wide, tall], 4, 1, 255);
    expect([row.width, row.height]).toEqual([13, 6]);
    const at = (x: number, y: number) => row.data[(y * row.width + x) * row.channels];
    expect([at(0, 0), at(0, 3), at(9, 3), at(12, 3), at(5, 0), at(5, 5)]).toEqual([255, 255, 255, 255, 255, 255]);
    expect([at(1, 1), at(8, 4), at(10, 1), at(11, 4)]).toEqual([200, 200, 30, 30]);
  });
});
