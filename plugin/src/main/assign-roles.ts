import { DEFAULT_LIMITS } from '@pixels/shared';
import { containsBox, intersectBoxes } from '../common/box.ts';
import type { LayerRole, LayerRow, SelectionIssue, SelectionSummary } from '../messages/selection-summary.ts';
import type { LayerFacts } from './layer-facts.ts';
import { comparePaintOrder } from './paint-order.ts';

/** Layer names that mark an edit map: "map", "Edit map", "edit-map 2", "MAP"... but not "Sitemap". */
const MAP_NAME = /(^|[\s_\-./])(edit[\s_-]?)?map($|[\s_\-./\d])/i;

export function looksLikeMap(name: string): boolean {
  return MAP_NAME.test(name);
}

function byPaintOrder(a: LayerFacts, b: LayerFacts): number {
  return comparePaintOrder(a.paintPath, b.paintPath);
}

/** Exemplars in compositing order: the designer's order where chosen, then back to front. */
function byExemplarOrder(a: LayerFacts, b: LayerFacts): number {
  const aChosen = a.chosenOrder !== undefined;
  const bChosen = b.chosenOrder !== undefined;
  if (aChosen && bChosen && a.chosenOrder !== b.chosenOrder) return a.chosenOrder! - b.chosenOrder!;
  if (aChosen !== bChosen) return aChosen ? -1 : 1;
  return byPaintOrder(a, b);
}

function area(layer: LayerFacts): number {
  return layer.bounds ? layer.bounds.width * layer.bounds.height : 0;
}

/**
 * Decides which selected layer is the source, which are exemplars (in z-order) and which is the
 * edit map, and says in plain words what stops a blend. A role the designer chose wins; otherwise
 * the source is the bottom-most frame or image layer, a layer named like "map" is the map, and every
 * other layer is an exemplar.
 */
export function assignRoles(
  layers: readonly LayerFacts[],
  maxExemplars: number = DEFAULT_LIMITS.maxExemplars,
): SelectionSummary {
  if (layers.length === 0) {
    return summary(
      [],
      [
        error(
          'empty',
          'Nothing is selected. Select the source frame or image together with the exemplar layers placed over it.',
        ),
      ],
    );
  }
  const sorted = [...layers].sort(byPaintOrder);
  const issues: SelectionIssue[] = [];
  const roles = new Map<string, { role: LayerRole; origin: 'chosen' | 'automatic' }>();

  const chosenSources = sorted.filter((layer) => layer.chosenRole === 'source');
  let source = chosenSources[0];
  if (chosenSources.length > 1) {
    issues.push(
      warning('several-sources', `Several layers are set as the source; using "${source.name}", the bottom-most one.`),
    );
  }
  if (!source) {
    const candidates = sorted.filter((layer) => !layer.chosenRole && (layer.isFrameLike || layer.isImage));
    // Bottom-most wins (exemplars sit over the source); the largest breaks ties between siblings.
    source = candidates.sort((a, b) => byPaintOrder(a, b) || area(b) - area(a))[0];
  }
  if (source) roles.set(source.id, { role: 'source', origin: source.chosenRole === 'source' ? 'chosen' : 'automatic' });

  const rest = sorted.filter((layer) => layer !== source);
  const chosenMaps = rest.filter((layer) => layer.chosenRole === 'map');
  const namedMaps = rest.filter((layer) => !layer.chosenRole && looksLikeMap(layer.name));
  const map = chosenMaps[0] ?? namedMaps[namedMaps.length - 1];
  if (map) roles.set(map.id, { role: 'map', origin: map.chosenRole === 'map' ? 'chosen' : 'automatic' });
  const extraMaps = [...chosenMaps, ...namedMaps].filter((layer) => layer !== map);
  if (extraMaps.length > 0) {
    issues.push(
      warning(
        'several-maps',
        `More than one layer could be the edit map; using "${map!.name}". Set the role of ${quoteNames(extraMaps)} in the list if that is wrong.`,
      ),
    );
  }

  for (const layer of rest) {
    if (roles.has(layer.id)) continue;
    if (layer.chosenRole === 'ignore' || layer.chosenRole === 'source') {
      roles.set(layer.id, { role: 'ignore', origin: layer.chosenRole === 'ignore' ? 'chosen' : 'automatic' });
    } else {
      const chosen = layer.chosenRole === 'exemplar' || (layer.chosenRole === 'map' && layer !== map);
      roles.set(layer.id, { role: 'exemplar', origin: chosen ? 'chosen' : 'automatic' });
    }
  }

  const exemplars = rest.filter((layer) => roles.get(layer.id)?.role === 'exemplar').sort(byExemplarOrder);
  issues.push(...checkLayers(source, exemplars, map, maxExemplars));

  const rows: LayerRow[] = [];
  const pushRow = (layer: LayerFacts, exemplarIndex?: number) => {
    const { role, origin } = roles.get(layer.id)!;
    rows.push({
      id: layer.id,
      name: layer.name,
      type: layer.type,
      role,
      origin,
      ...(exemplarIndex !== undefined ? { exemplarIndex } : {}),
    });
  };
  if (source) pushRow(source);
  for (const [index, layer] of exemplars.entries()) pushRow(layer, index);
  if (map) pushRow(map);
  for (const layer of rest) if (roles.get(layer.id)?.role === 'ignore') pushRow(layer);

  const usable = exemplars.filter((layer) => layer.visible);
  return {
    ...summary(rows, issues),
    ...(source?.bounds
      ? { source: { id: source.id, name: source.name, width: source.bounds.width, height: source.bounds.height } }
      : {}),
    exemplarIds: usable.map((layer) => layer.id),
    ...(map?.visible ? { mapId: map.id } : {}),
  };
}

function checkLayers(
  source: LayerFacts | undefined,
  exemplars: readonly LayerFacts[],
  map: LayerFacts | undefined,
  maxExemplars: number,
): SelectionIssue[] {
  const issues: SelectionIssue[] = [];
  if (!source) {
    issues.push(
      error(
        'no-source',
        "None of the selected layers can be the source. Select the frame or image layer to edit along with the exemplars, or set a layer's role to Source in the list.",
      ),
    );
    return issues;
  }
  if (!source.visible)
    issues.push(error('source-hidden', `The source "${source.name}" is hidden. Show it so it can be exported.`));
  if (!source.bounds || source.bounds.width < 1 || source.bounds.height < 1) {
    issues.push(
      error('source-empty', `The source "${source.name}" has no visible size. Pick a frame or image with content.`),
    );
    return issues;
  }
  if (source.orientation.flipped) {
    issues.push(
      error(
        'source-flipped',
        `The source "${source.name}" is mirrored. Flip it back, or put it inside an unmirrored frame and select that frame as the source, so the result can be placed exactly over it.`,
      ),
    );
  } else if (!source.orientation.upright) {
    issues.push(
      error(
        'source-rotated',
        `The source "${source.name}" is rotated by ${source.orientation.rotation}°. Set its rotation to 0°, or put it inside an unrotated frame and select that frame as the source, so the result can be placed exactly over it.`,
      ),
    );
  }
  if (exemplars.length === 0) {
    issues.push(
      error(
        'no-exemplar',
        `Select at least one exemplar layer placed over "${source.name}" (shift-click it in the layers panel), or set a layer's role to Exemplar.`,
      ),
    );
  }
  if (exemplars.length > 0 && exemplars.every((layer) => !layer.visible)) {
    issues.push(error('no-visible-exemplar', 'Every exemplar is hidden. Show at least one of them to blend it.'));
  }
  if (exemplars.length > maxExemplars) {
    issues.push(
      error(
        'too-many-exemplars',
        `${exemplars.length} exemplars are selected; the server takes at most ${maxExemplars}. Set some of them to Ignore.`,
      ),
    );
  }
  for (const layer of [...exemplars, ...(map ? [map] : [])]) {
    const what = layer === map ? 'edit map' : 'exemplar';
    if (source.ancestorIds.includes(layer.id)) {
      issues.push(
        error(
          'contains-source',
          `The ${what} "${layer.name}" contains the source. Select the layers inside it instead, or set its role to Ignore.`,
        ),
      );
      continue;
    }
    if (!layer.visible) {
      issues.push(
        warning('hidden-layer', `The ${what} "${layer.name}" is hidden and will be left out. Show it to use it.`),
      );
      continue;
    }
    const overlap = layer.bounds ? intersectBoxes(source.bounds, layer.bounds) : null;
    if (!overlap) {
      issues.push(
        error(
          'outside-source',
          `The ${what} "${layer.name}" lies outside the source "${source.name}". Move it over the source, or set its role to Ignore.`,
        ),
      );
    } else if (layer.bounds && !containsBox(source.bounds, layer.bounds)) {
      issues.push(
        warning('partly-outside', `Part of the ${what} "${layer.name}" lies outside the source; that part is cut off.`),
      );
    }
  }
  return issues;
}

function summary(rows: LayerRow[], issues: SelectionIssue[]): SelectionSummary {
  return { rows, issues, exemplarIds: [], canBlend: !issues.some((issue) => issue.severity === 'error') };
}

function error(code: string, message: string): SelectionIssue {
  return { severity: 'error', code, message };
}

function warning(code: string, message: string): SelectionIssue {
  return { severity: 'warning', code, message };
}

function quoteNames(layers: readonly LayerFacts[]): string {
  return layers.map((layer) => `"${layer.name}"`).join(', ');
}
