import { EditSettings, MAX_SEED } from '@pixels/shared';
import type { PanelSettings } from '../../messages/panel-settings.ts';

/**
 * The settings of one job from the panel's settings. Variation k of a fixed seed uses seed + k;
 * random seeds are left to the server, which reports the one it drew. The map the plugin sends is
 * always in "white = change" polarity once it is built from the exemplars, so `invertMap` only
 * travels with a drawn map layer.
 */
export function requestSettings(panel: PanelSettings, variation: number, mapOrigin: 'drawn' | 'shape'): EditSettings {
  const { seed, ...edit } = panel.edit;
  const fixedSeed = panel.seedMode === 'fixed' ? ((seed ?? 0) + variation) % (MAX_SEED + 1) : undefined;
  return EditSettings.parse({
    ...edit,
    invertMap: mapOrigin === 'drawn' ? edit.invertMap : false,
    ...(fixedSeed !== undefined ? { seed: fixedSeed } : {}),
  });
}
