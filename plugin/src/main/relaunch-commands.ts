/**
 * Relaunch buttons on a placed result (the manifest's `relaunchButtons` name the same commands).
 * Figma shows them in the properties panel when the result is selected.
 */
export const RELAUNCH_COMMANDS = Object.freeze({
  again: 'blend-again',
  variation: 'variation',
});

export const RESULT_RELAUNCH_DATA = Object.freeze({
  [RELAUNCH_COMMANDS.again]: 'Blend the same layers again with the same settings and seed',
  [RELAUNCH_COMMANDS.variation]: 'Blend the same layers again with a new seed',
});

/** Which relaunch a command starts, if any. */
export function relaunchModeOf(command: string): 'again' | 'variation' | undefined {
  if (command === RELAUNCH_COMMANDS.again) return 'again';
  if (command === RELAUNCH_COMMANDS.variation) return 'variation';
  return undefined;
}
