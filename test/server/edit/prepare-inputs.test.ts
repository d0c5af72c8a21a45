import type { EditInputs } from '@pixels/server/edit/edit-runner.ts';
import { type DecodedLayout, decodeInputs, prepareInputs } from '@pixels/server/edit/prepare-inputs.ts';
import { DEFAULT_SERVER_LIMITS } from '@pixels/server/http/server-limits.ts';
import { EditSettings } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { fixtureAt, solidPng } from '../../helpers/images.ts';

const prepare = (settings: EditSettings, inputs: EditInputs) =>
  prepareInputs(settings, inputs, DEFAULT_SERVER_LIMITS.maxPixels, DEFAULT_SERVER_LIMITS.maxExemplars);

/** Rows and columns where an exemplar placed in a 64x64 frame is opaque. */
async function opaqueBox(fit: EditSettings['fit']) {
  const prepared = await prepare(EditSettings.parse({ fit }), {
    source: await fixtureAt('brick', 64),
    exemplars: [await fixtureAt('grass', 32, 16)],
    map: await solidPng(64, 64, 255),
  });
  const alpha = prepared.alphas[0];
  const rows = new Set<number>();
  const columns = new Set<number>();
  for (let i = 0; i < alpha.data.length; i++) {
    if (alpha.data[i] > 0.5) {
      rows.add(Math.floor(i / 64));
      columns.add(i % 64);
    }
  }
  return { top: Math.min(...rows), bottom: Math.max(...rows), left: Math.min(...columns), right: Math.max(...columns) };
}

describe('prepareInputs: an exemplar of another size in the source frame', () => {
  it('contain: scaled to fit inside, centred, transparent bands elsewhere', async () => {
    expect(await opaqueBox('contain')).toEqual({ top: 16, bottom: 47, left: 0, right: 63 });
  });
  it('cover and stretch: the whole frame', async () => {
    expect(await opaqueBox('cover')).toEqual({ top: 0, bottom: 63, left: 0, right: 63 });
    expect(await opaqueBox('stretch')).toEqual({ top: 0, bottom: 63, left: 0, right: 63 });
  });
  it('center: unscaled, centred', async () => {
    expect(await opaqueBox('center')).toEqual({ top: 24, bottom: 39, left: 16, right: 47 });
  });
});

describe('prepareInputs: maps', () => {
  it('reads any-colour maps as luminance, inverted on request, and builds one from alpha otherwise', async () => {
    const source = await fixtureAt('brick', 64);
    const exemplar = await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0));
    const grey = await solidPng(32, 32, 64); // another size, same aspect: resampled
    const given = await prepare(EditSettings.parse({}), { source, exemplars: [exemplar], map: grey });
    expect(given.editMap.data[100]).toBeCloseTo(64 / 255, 2);
    const inverted = await prepare(EditSettings.parse({ invertMap: true }), {
      source,
      exemplars: [exemplar],
      map: grey,
    });
    expect(inverted.editMap.data[100]).toBeCloseTo(1 - 64 / 255, 2);
    const fromAlpha = await prepare(EditSettings.parse({ feather: 0 }), { source, exemplars: [exemplar] });
    expect([fromAlpha.editMap.data[32 * 64 + 31], fromAlpha.editMap.data[32 * 64 + 32]]).toEqual([0, 1]);
  });
});

describe('prepareInputs: headers probed by the HTTP layer', () => {
  it('uses the headers it is handed instead of probing the files again', async () => {
    const source = await fixtureAt('brick', 64);
    const exemplar = await fixtureAt('grass', 64, 64, (x) => (x >= 32 ? 1 : 0));
    const map = await solidPng(64, 64, 128);
    const header = { format: 'png', width: 64, height: 64, hasAlpha: true } as const;
    // The files agree; the headers handed over say the map is twice as wide. Only headers that are
    // used (not probed again) can make the check fail.
    const handed = prepare(EditSettings.parse({}), {
      source,
      exemplars: [exemplar],
      map,
      headers: { source: header, exemplars: [header], map: { ...header, width: 128 } },
    });
    await expect(handed).rejects.toMatchObject({ code: 'map_mismatch' });
    const probed = await prepare(EditSettings.parse({}), { source, exemplars: [exemplar], map });
    expect([probed.source.width, probed.source.height, probed.editMap.width, probed.editMap.height]).toEqual([
      64, 64, 64, 64,
    ]);
    expect(probed.editMap.data[100]).toBeCloseTo(128 / 255, 2);
  });
});

/** A PNG whose header reads fine and whose pixel data is cut short: probing passes, decoding fails. */
async function damagedPng(width: number, height: number): Promise<Uint8Array> {
  const whole = await fixtureAt('gravel', width, height);
  return whole.slice(0, Math.floor(whole.length * 0.6));
}

describe('prepareInputs: damaged pixel data', () => {
  it('names the map when only the map is damaged, and the source when both are (the map is decoded alongside)', async () => {
    const source = await fixtureAt('brick', 64);
    const exemplar = await fixtureAt('grass', 64);
    const map = await damagedPng(64, 64);
    await expect(prepare(EditSettings.parse({}), { source, exemplars: [exemplar], map })).rejects.toMatchObject({
      code: 'invalid_image',
      field: 'map',
      message: expect.stringMatching(/^The map image could not be decoded/),
    });
    const both = { source: await damagedPng(64, 64), exemplars: [exemplar], map };
    await expect(prepare(EditSettings.parse({}), both)).rejects.toMatchObject({
      code: 'invalid_image',
      field: 'source',
      message: expect.stringMatching(/^The source image could not be decoded/),
    });
  });

  it('names the source first when the source and an exemplar are both damaged', async () => {
    const both = { source: await damagedPng(64, 64), exemplars: [await damagedPng(64, 64)] };
    await expect(prepare(EditSettings.parse({}), both)).rejects.toMatchObject({ field: 'source' });
  });
});

describe('decodeInputs: the source read another way, from the layout', () => {
  it('hands over the placed exemplars and map, the same the decoded inputs hold, once, and keeps the rows it gives', async () => {
    const source = await fixtureAt('brick', 96, 64);
    const inputs = { source, exemplars: [await fixtureAt('grass', 48)], map: await solidPng(96, 64, 255) };
    const layouts: DecodedLayout[] = [];
    const rows = { image: { data: new Uint8Array(96 * 4 * 3), width: 96, height: 3, channels: 4 as const }, top: 10 };
    const decoded = await decodeInputs(EditSettings.parse({ fit: 'center' }), inputs, 1 << 20, 4, async (layout) => {
      layouts.push(layout);
      return rows;
    });
    expect(layouts).toHaveLength(1);
    expect(layouts[0].source).toEqual({ width: 96, height: 64 });
    expect(layouts[0].exemplars).toEqual(decoded.exemplars);
    expect(layouts[0].map).toBe(decoded.map);
    expect(decoded.source).toEqual({ width: 96, height: 64 });
    expect(decoded.sourceRows).toBe(rows);
  });

  it('decodes the source whole when none are given', async () => {
    const inputs = { source: await fixtureAt('brick', 96, 64), exemplars: [await fixtureAt('grass', 48)] };
    const decoded = await decodeInputs(EditSettings.parse({}), inputs, 1 << 20, 4, async () => undefined);
    const whole = await decodeInputs(EditSettings.parse({}), inputs, 1 << 20, 4);
    expect(decoded.sourceRows.top).toBe(0);
    expect(Buffer.from(decoded.sourceRows.image.data).equals(Buffer.from(whole.sourceRows.image.data))).toBe(true);
    expect(decoded.sourceRows.image.height).toBe(64);
  });

  it('still names a damaged source before a damaged exemplar', async () => {
    const both = { source: await damagedPng(64, 64), exemplars: [await damagedPng(64, 64)] };
    let asked = 0;
    const reading = decodeInputs(EditSettings.parse({}), both, 1 << 20, 4, async () => {
      asked++;
      return undefined;
    });
    await expect(reading).rejects.toMatchObject({ field: 'source' });
    expect(asked).toBe(0);
  });
});
