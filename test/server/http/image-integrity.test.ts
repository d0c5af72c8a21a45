import { checkImageComplete } from '@pixels/server/http/image-integrity.ts';
import { describe, expect, it } from 'vitest';
import { encodePng, truncated } from './png-bytes.ts';

const JPEG_START = [0xff, 0xd8, 0xff, 0xc0, 0, 17, 8, 0, 8, 0, 8, 3, 1, 0x22, 0, 2, 0x11, 1, 3, 0x11, 1];
const SCAN = [0xff, 0xda, 0, 12, 3, 1, 0, 2, 0x11, 3, 0x11, 0, 63, 0, 1, 2, 3];

function webp(declaredSize: number, actualLength: number): Uint8Array {
  const bytes = new Uint8Array(actualLength);
  bytes.set(new TextEncoder().encode('RIFF'), 0);
  new DataView(bytes.buffer).setUint32(4, declaredSize, true);
  bytes.set(new TextEncoder().encode('WEBP'), 8);
  return bytes;
}

describe('checkImageComplete', () => {
  it('accepts whole PNG, JPEG and WebP files', () => {
    expect(() => checkImageComplete(encodePng(16, 16), 'png', 'source', 'source')).not.toThrow();
    expect(() =>
      checkImageComplete(new Uint8Array([...JPEG_START, ...SCAN, 0xff, 0xd9]), 'jpeg', 'map', 'map'),
    ).not.toThrow();
    expect(() => checkImageComplete(webp(92, 100), 'webp', 'source', 'source')).not.toThrow();
  });

  it('refuses a PNG that stops before IEND, at any cut', () => {
    const png = encodePng(16, 16);
    for (let keep = 0; keep < png.length; keep += 7) {
      expect(() => checkImageComplete(truncated(png, keep), 'png', 'exemplar 2', 'exemplar[1]')).toThrow(
        'The exemplar 2 PNG is truncated or damaged (its data ends early); export it again and resend.',
      );
    }
  });

  it("refuses a JPEG without an end marker after its scan (an EXIF thumbnail's marker does not count)", () => {
    const thumbnailEnd = [0xff, 0xd9];
    expect(() =>
      checkImageComplete(new Uint8Array([...JPEG_START, ...thumbnailEnd, ...SCAN]), 'jpeg', 'map', 'map'),
    ).toThrow(/map JPEG is truncated/);
  });

  it('refuses a WebP shorter than its RIFF size says', () => {
    expect(() => checkImageComplete(webp(200, 100), 'webp', 'source', 'source')).toThrow(/source WEBP is truncated/);
  });

  it('names the field of the part', () => {
    try {
      checkImageComplete(new Uint8Array([0x89]), 'png', 'exemplar 1', 'exemplar[0]');
    } catch (error) {
      expect(error).toMatchObject({ code: 'invalid_image', field: 'exemplar[0]' });
      return;
    }
    throw new Error('no error');
  });
});
