import { DEFAULT_LIMITS } from '@pixels/shared';
import { describe, expect, it } from 'vitest';
import { ApiError } from '../../../../plugin/src/ui/api/api-error.ts';
import { problemFrom } from '../../../../plugin/src/ui/panel/problems.ts';

const context = { serverUrl: 'https://pixels.example.com', workingSize: 2048 };

describe('problemFrom: one message, one button', () => {
  it('an unreachable server: a short message naming it, and Retry', () => {
    const problem = problemFrom(new ApiError('network', 'Could not reach the server (Failed to fetch).'), context);
    expect(problem.message).toBe("Can't reach https://pixels.example.com.");
    expect(problem.action).toEqual({ kind: 'retry-connect', label: 'Retry' });
    expect(problem.advice).not.toContain(problem.message);
  });

  it('a wrong token: opens the server settings at the token field', () => {
    const problem = problemFrom(new ApiError('unauthorized', 'Missing or wrong bearer token.', 401), context);
    expect(problem.action).toEqual({ kind: 'open-server', label: 'Open server settings' });
    expect(problem.field).toBe('server-token');
  });

  it('a refused setting is named by its label, and the steps limit becomes a "Use N steps" button', () => {
    const error = new ApiError(
      'invalid_settings',
      'settings.steps is 20; this server runs at most 8 steps. Lower it.',
      400,
      'settings.steps',
    );
    const problem = problemFrom(error, context);
    expect(problem.message).toBe('Steps is 20; this server runs at most 8 steps. Lower it.');
    expect(problem.field).toBe('steps');
    expect(problem.action).toEqual({ kind: 'set-steps', label: 'Use 8 steps', value: 8 });
    // The server's own limit, when its status said it, wins over reading the message.
    const limits = { ...DEFAULT_LIMITS, maxSteps: 12 };
    expect(problemFrom(error, { ...context, limits }).action).toMatchObject({ value: 12 });
  });

  it('an image too large offers a smaller working size', () => {
    const problem = problemFrom(new ApiError('image_too_large', 'The source has too many pixels.', 413), context);
    expect(problem.action).toEqual({ kind: 'set-working-size', label: 'Use 1024 px working size', value: 1024 });
    expect(problem.field).toBe('working-size');
  });

  it('a failed model run offers Retry', () => {
    const problem = problemFrom(new ApiError('model_error', 'The model ran out of memory.'), context);
    expect(problem.action).toEqual({ kind: 'blend-again', label: 'Retry' });
  });
});
