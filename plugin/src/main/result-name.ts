import type { EditSettings } from '@pixels/shared';

const PROMPT_CHARACTERS = 32;

/**
 * The result layer's name: the settings a designer compares variations by, at a glance. A prompt
 * the model ignored is left out (`promptUsed` false): it did not shape the result.
 */
export function nameResult(settings: EditSettings, seed: number, promptUsed = true): string {
  const parts = [
    'PIXELS',
    settings.model,
    `strength ${settings.strength}`,
    `${settings.steps} steps`,
    settings.threshold,
    `seed ${seed}`,
  ];
  const prompt = settings.prompt.trim();
  if (prompt && promptUsed)
    parts.push(`"${prompt.length > PROMPT_CHARACTERS ? `${prompt.slice(0, PROMPT_CHARACTERS - 1)}…` : prompt}"`);
  return parts.join(' · ');
}
