import { describe, expect, it } from 'vitest';
import { assignRoles, looksLikeMap } from '../../../plugin/src/main/assign-roles.ts';
import type { LayerFacts } from '../../../plugin/src/main/layer-facts.ts';

const UPRIGHT = { rotation: 0, flipped: false, upright: true };
const SOURCE_BOX = { x: 0, y: 0, width: 400, height: 300 };

function layer(id: string, overrides: Partial<LayerFacts> = {}): LayerFacts {
  return {
    id,
    name: id,
    type: 'RECTANGLE',
    visible: true,
    bounds: { x: 50, y: 50, width: 100, height: 100 },
    orientation: UPRIGHT,
    isFrameLike: false,
    isImage: false,
    paintPath: [0],
    ancestorIds: [],
    ...overrides,
  };
}

const frame = (overrides: Partial<LayerFacts> = {}) =>
  layer('frame', { name: 'Hero', type: 'FRAME', isFrameLike: true, bounds: SOURCE_BOX, paintPath: [0], ...overrides });

describe('assignRoles: what stops a blend', () => {
  it('asks for a selection when nothing is selected', () => {
    const summary = assignRoles([]);
    expect(summary.canBlend).toBe(false);
    expect(summary.issues).toEqual([
      {
        severity: 'error',
        code: 'empty',
        message:
          'Nothing is selected. Select the source frame or image together with the exemplar layers placed over it.',
      },
    ]);
  });

  it('says when no selected layer can be the source', () => {
    const summary = assignRoles([layer('a'), layer('b', { paintPath: [1] })]);
    expect(summary.canBlend).toBe(false);
    expect(summary.issues[0].message).toBe(
      "None of the selected layers can be the source. Select the frame or image layer to edit along with the exemplars, or set a layer's role to Source in the list.",
    );
  });

  it('asks for an exemplar when only the source is selected', () => {
    const summary = assignRoles([frame()]);
    expect(summary.source).toEqual({ id: 'frame', name: 'Hero', width: 400, height: 300 });
    expect(summary.issues.map((issue) => issue.code)).toEqual(['no-exemplar']);
    expect(summary.issues[0].message).toBe(
      'Select at least one exemplar layer placed over "Hero" (shift-click it in the layers panel), or set a layer\'s role to Exemplar.',
    );
  });

  it('refuses an exemplar outside the source and warns about one partly outside', () => {
    const summary = assignRoles([
      frame(),
      layer('far', { name: 'Far away', bounds: { x: 500, y: 0, width: 50, height: 50 }, paintPath: [1] }),
      layer('edge', { name: 'On the edge', bounds: { x: 380, y: 0, width: 50, height: 50 }, paintPath: [2] }),
    ]);
    expect(summary.canBlend).toBe(false);
    expect(summary.issues).toEqual([
      {
        severity: 'error',
        code: 'outside-source',
        message:
          'The exemplar "Far away" lies outside the source "Hero". Move it over the source, or set its role to Ignore.',
      },
      {
        severity: 'warning',
        code: 'partly-outside',
        message: 'Part of the exemplar "On the edge" lies outside the source; that part is cut off.',
      },
    ]);
  });

  it('refuses a rotated or mirrored source, since the result could not sit exactly over it', () => {
    const rotated = assignRoles([
      frame({ orientation: { rotation: 15, flipped: false, upright: false } }),
      layer('e', { paintPath: [1] }),
    ]);
    expect(rotated.issues[0]).toMatchObject({ code: 'source-rotated' });
    expect(rotated.issues[0].message).toContain('is rotated by 15°');
    const mirrored = assignRoles([
      frame({ orientation: { rotation: 0, flipped: true, upright: false } }),
      layer('e', { paintPath: [1] }),
    ]);
    expect(mirrored.issues[0]).toMatchObject({ code: 'source-flipped' });
  });

  it('refuses a hidden source, too many exemplars, and an exemplar that contains the source', () => {
    expect(assignRoles([frame({ visible: false }), layer('e', { paintPath: [1] })]).issues[0].code).toBe(
      'source-hidden',
    );
    const many = [frame(), ...Array.from({ length: 3 }, (_, i) => layer(`e${i}`, { paintPath: [i + 1] }))];
    expect(assignRoles(many, 2).issues.map((issue) => issue.code)).toEqual(['too-many-exemplars']);
    const wrapper = layer('group', { type: 'GROUP', bounds: SOURCE_BOX, paintPath: [3], chosenRole: 'exemplar' });
    const inner = frame({ ancestorIds: ['group'], paintPath: [3, 0] });
    expect(
      assignRoles([inner, wrapper, layer('e', { paintPath: [3, 1] })]).issues.map((issue) => issue.code),
    ).toContain('contains-source');
  });

  it('leaves hidden exemplars out with a warning', () => {
    const summary = assignRoles([
      frame(),
      layer('shown', { paintPath: [1] }),
      layer('hidden', { visible: false, paintPath: [2] }),
    ]);
    expect(summary.canBlend).toBe(true);
    expect(summary.exemplarIds).toEqual(['shown']);
    expect(summary.issues.map((issue) => issue.code)).toEqual(['hidden-layer']);
    const allHidden = assignRoles([frame(), layer('hidden', { visible: false, paintPath: [1] })]);
    expect(allHidden.canBlend).toBe(false);
  });
});

describe('assignRoles: deciding roles', () => {
  it('takes the bottom-most frame as the source and the rest as exemplars in z-order', () => {
    const summary = assignRoles([
      layer('top', { paintPath: [0, 2] }),
      frame(),
      layer('bottom', { paintPath: [0, 0] }),
      layer('sibling-above', { paintPath: [1] }),
    ]);
    expect(summary.canBlend).toBe(true);
    expect(summary.source?.id).toBe('frame');
    expect(summary.exemplarIds).toEqual(['bottom', 'top', 'sibling-above']);
    expect(summary.rows.map((row) => [row.id, row.role, row.origin, row.exemplarIndex])).toEqual([
      ['frame', 'source', 'automatic', undefined],
      ['bottom', 'exemplar', 'automatic', 0],
      ['top', 'exemplar', 'automatic', 1],
      ['sibling-above', 'exemplar', 'automatic', 2],
    ]);
  });

  it('takes an image layer as the source when no frame is selected', () => {
    const photo = layer('photo', { isImage: true, bounds: SOURCE_BOX, paintPath: [0] });
    expect(assignRoles([layer('sticker', { paintPath: [1] }), photo]).source?.id).toBe('photo');
  });

  it('recognises a map by its name', () => {
    expect(['map', 'Edit map', 'edit-map 2', 'MAP', 'mask/map'].every(looksLikeMap)).toBe(true);
    expect(['Sitemap', 'mapping', 'Roadmap'].some(looksLikeMap)).toBe(false);
    const summary = assignRoles([
      frame(),
      layer('e', { paintPath: [1] }),
      layer('m', { name: 'Edit map', paintPath: [2] }),
    ]);
    expect(summary.mapId).toBe('m');
    expect(summary.exemplarIds).toEqual(['e']);
  });

  it('warns when two layers could be the map and uses the top one', () => {
    const summary = assignRoles([
      frame(),
      layer('e', { paintPath: [1] }),
      layer('m1', { name: 'map', paintPath: [2] }),
      layer('m2', { name: 'map 2', paintPath: [3] }),
    ]);
    expect(summary.mapId).toBe('m2');
    expect(summary.exemplarIds).toEqual(['e', 'm1']);
    expect(summary.issues[0]).toMatchObject({ severity: 'warning', code: 'several-maps' });
  });

  it('honours roles and exemplar order the designer chose', () => {
    const summary = assignRoles([
      frame({ chosenRole: 'exemplar', chosenOrder: 1 }),
      layer('photo', { isImage: true, bounds: SOURCE_BOX, paintPath: [1], chosenRole: 'source' }),
      layer('a', { paintPath: [2], chosenOrder: 0 }),
      layer('b', { paintPath: [3] }),
      layer('skip', { paintPath: [4], chosenRole: 'ignore' }),
      layer('mask', { paintPath: [5], chosenRole: 'map' }),
    ]);
    expect(summary.source?.id).toBe('photo');
    expect(summary.exemplarIds).toEqual(['a', 'frame', 'b']);
    expect(summary.mapId).toBe('mask');
    expect(summary.rows.map((row) => `${row.id}:${row.role}:${row.origin}`)).toEqual([
      'photo:source:chosen',
      'a:exemplar:automatic',
      'frame:exemplar:chosen',
      'b:exemplar:automatic',
      'mask:map:chosen',
      'skip:ignore:chosen',
    ]);
  });
});
