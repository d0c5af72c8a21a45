import type { ServerRequestLimits } from '@pixels/shared';
import { ApiError } from '../api/api-error.ts';
import type { Problem } from '../blend/job-view.ts';

/** Wire field names as the designer reads them, and the control each one is set in. */
export const FIELD_LABELS: Readonly<Record<string, { label: string; control: string }>> = {
  'settings.steps': { label: 'Steps', control: 'steps' },
  'settings.strength': { label: 'Strength', control: 'strength' },
  'settings.guidance': { label: 'Guidance', control: 'guidance' },
  'settings.prompt': { label: 'Prompt', control: 'prompt' },
  'settings.negativePrompt': { label: 'Negative prompt', control: 'negative-prompt' },
  'settings.seed': { label: 'Seed', control: 'seed' },
  'settings.threshold': { label: 'Threshold', control: 'threshold' },
  'settings.grow': { label: 'Grow', control: 'map-grow' },
  'settings.feather': { label: 'Feather', control: 'map-feather' },
  'settings.model': { label: 'Model', control: 'model' },
};

export interface ProblemContext {
  serverUrl?: string;
  limits?: ServerRequestLimits;
  workingSize: number;
}

/** Replaces internal names such as `settings.steps` with the label the designer sees. */
function withLabels(message: string): string {
  return message.replace(/settings\.([A-Za-z]+)/g, (name) => FIELD_LABELS[name]?.label ?? name);
}

function smallerWorkingSize(current: number): number {
  return Math.max(512, 2 ** Math.floor(Math.log2(Math.max(1, current - 1))));
}

/**
 * One failure as one message with one button that fixes or retries it. The message says what
 * happened, the advice what to do (never the same thing twice), the action does it.
 */
export function problemFrom(error: unknown, context: ProblemContext): Problem {
  if (!(error instanceof ApiError)) {
    return {
      message: (error as Error).message ?? String(error),
      advice: '',
      action: { kind: 'blend-again', label: 'Retry' },
    };
  }
  const server = context.serverUrl ?? 'the server';
  switch (error.code) {
    case 'network':
      return {
        message: `Can't reach ${server}.`,
        advice: 'Is the server running and the URL right? A server on another computer must use https.',
        action: { kind: 'retry-connect', label: 'Retry' },
      };
    case 'unauthorized':
      return {
        message: 'The server did not accept the access token.',
        advice: 'Enter the token whoever runs the server gave you.',
        action: { kind: 'open-server', label: 'Open server settings' },
        field: 'server-token',
      };
    case 'forbidden':
      return {
        message: withLabels(error.message),
        advice: 'Ask whoever runs the server for access.',
        action: { kind: 'open-server', label: 'Open server settings' },
      };
    case 'protocol':
      return {
        message: withLabels(error.message),
        advice: 'Check the URL; the plugin and the server may need updating to matching versions.',
        action: { kind: 'open-server', label: 'Open server settings' },
        field: 'server-url',
      };
    case 'invalid_settings': {
      const field = error.field ? FIELD_LABELS[error.field] : undefined;
      const problem: Problem = {
        message: withLabels(error.message),
        advice: field ? `Change ${field.label} and blend again.` : 'Change the setting and blend again.',
        ...(field ? { field: field.control } : {}),
      };
      if (error.field === 'settings.steps') {
        const limit = context.limits?.maxSteps ?? Number(/at most (\d+)/.exec(error.message)?.[1]);
        if (Number.isInteger(limit) && limit > 0)
          return { ...problem, advice: '', action: { kind: 'set-steps', label: `Use ${limit} steps`, value: limit } };
      }
      return problem;
    }
    case 'image_too_large':
    case 'payload_too_large': {
      const size = smallerWorkingSize(context.workingSize);
      return {
        message: withLabels(error.message),
        advice: '',
        action: { kind: 'set-working-size', label: `Use ${size} px working size`, value: size },
        field: 'working-size',
      };
    }
    case 'unknown_model':
      return {
        message: withLabels(error.message),
        advice: '',
        action: { kind: 'refresh-models', label: 'Refresh models' },
        field: 'model',
      };
    case 'not_found':
      return { message: error.message, advice: '', action: { kind: 'blend-again', label: 'Blend again' } };
    case 'queue_full':
    case 'not_ready':
    case 'model_error':
    case 'internal':
    case 'invalid_image':
      return {
        message: withLabels(error.message),
        advice: error.advice,
        action: { kind: 'blend-again', label: 'Retry' },
      };
    default:
      return { message: withLabels(error.message), advice: error.advice };
  }
}
