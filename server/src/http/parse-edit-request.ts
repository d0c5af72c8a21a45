import { EditSettings, PixelsError } from '@pixels/shared';
import type { z } from 'zod';
import type { EditInputs } from '../edit/edit-runner.ts';
import { probeImage } from '../images/probe.ts';
import { checkImageComplete } from './image-integrity.ts';
import type { ServerLimits } from './server-limits.ts';

export interface EditRequest {
  settings: EditSettings;
  inputs: EditInputs;
}

type RequestLimits = Pick<ServerLimits, 'maxPixels' | 'maxExemplars' | 'maxSteps' | 'maxPromptLength'>;

const PART_NAMES = ['settings', 'source', 'exemplar', 'exemplar[]', 'map'] as const;
const EXAMPLE = `curl -F settings='{"strength":0.6}' -F source=@source.png -F exemplar=@exemplar.png`;

/**
 * Reads and checks a `POST /v1/edits` body before anything is queued: the multipart parts, the
 * settings against the shared schema and this server's limits, and each image's header (format,
 * size, pixel count: a decompression bomb is refused without decoding) and completeness.
 * Exemplars keep the order they were sent in: their z-order, bottom first.
 */
export async function parseEditRequest(
  request: Request,
  limits: RequestLimits,
  installedModels: readonly string[],
): Promise<EditRequest> {
  const form = await readForm(request);
  let settingsText: string | undefined;
  let source: Blob | undefined;
  let map: Blob | undefined;
  const exemplars: Blob[] = [];
  for (const [name, value] of form.entries()) {
    if (!(PART_NAMES as readonly string[]).includes(name)) {
      throw new PixelsError(
        'bad_request',
        `Unknown part '${name}'; the parts are settings, source, exemplar (repeat it, bottom layer first) and map.`,
        name,
      );
    }
    if (name === 'settings') {
      if (settingsText !== undefined) throw duplicatePart(name);
      settingsText = typeof value === 'string' ? value : await value.text();
      continue;
    }
    if (typeof value === 'string') {
      throw new PixelsError(
        'bad_request',
        `The ${name} part is text; send it as a file (curl: -F ${name.replace('[]', '')}=@image.png).`,
        name,
      );
    }
    if (name === 'source') {
      if (source) throw duplicatePart(name);
      source = value;
    } else if (name === 'map') {
      if (map) throw duplicatePart(name);
      map = value;
    } else {
      exemplars.push(value);
    }
  }

  const settings = parseSettings(settingsText ?? '{}', limits, installedModels);
  if (!source)
    throw new PixelsError('missing_part', `The source image is missing; send it as a file part: ${EXAMPLE}`, 'source');
  if (exemplars.length === 0) {
    throw new PixelsError('missing_part', `No exemplar image was sent; send at least one: ${EXAMPLE}`, 'exemplar');
  }
  if (exemplars.length > limits.maxExemplars) {
    throw new PixelsError(
      'too_many_exemplars',
      `${exemplars.length} exemplars were sent; this server takes at most ${limits.maxExemplars} per edit. Merge some layers or run two edits.`,
      'exemplar',
    );
  }
  return {
    settings,
    inputs: {
      source: await readImage(source, 'source', 'source', limits.maxPixels),
      exemplars: await Promise.all(
        exemplars.map((blob, index) =>
          readImage(blob, `exemplar ${index + 1}`, `exemplar[${index}]`, limits.maxPixels),
        ),
      ),
      ...(map ? { map: await readImage(map, 'map', 'map', limits.maxPixels) } : {}),
    },
  };
}

async function readForm(request: Request): Promise<FormData> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(contentType)) {
    throw new PixelsError(
      'bad_request',
      `POST /v1/edits takes multipart/form-data with a boundary, not '${contentType || 'no Content-Type'}'; for example ${EXAMPLE}`,
    );
  }
  try {
    return await request.formData();
  } catch (error) {
    throw new PixelsError(
      'bad_request',
      `The multipart body could not be read (${(error as Error).message}); check that the body is complete and uses the boundary of the Content-Type header.`,
    );
  }
}

function duplicatePart(name: string): PixelsError {
  return new PixelsError('bad_request', `The ${name} part was sent twice; send it once.`, name);
}

function parseSettings(text: string, limits: RequestLimits, installedModels: readonly string[]): EditSettings {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new PixelsError(
      'invalid_settings',
      `The settings part is not JSON (${(error as Error).message}); send an object such as {"strength":0.6,"steps":20}.`,
      'settings',
    );
  }
  const parsed = EditSettings.safeParse(json);
  if (!parsed.success) throw settingsError(parsed.error);
  const settings = parsed.data;
  if (settings.steps > limits.maxSteps) {
    throw new PixelsError(
      'invalid_settings',
      `settings.steps is ${settings.steps}; this server runs at most ${limits.maxSteps} steps. Lower it.`,
      'settings.steps',
    );
  }
  for (const key of ['prompt', 'negativePrompt'] as const) {
    if (settings[key].length > limits.maxPromptLength) {
      throw new PixelsError(
        'invalid_settings',
        `settings.${key} has ${settings[key].length} characters; this server takes at most ${limits.maxPromptLength}. Shorten it.`,
        `settings.${key}`,
      );
    }
  }
  if (!installedModels.includes(settings.model)) {
    throw new PixelsError(
      'unknown_model',
      `Model '${settings.model}' is not installed on this server; installed: ${installedModels.join(', ')} (GET /v1/models lists them).`,
      'settings.model',
    );
  }
  return settings;
}

/** Every schema complaint, each naming its setting; the field is the first one's. */
function settingsError(error: z.ZodError): PixelsError {
  const described = error.issues.map((issue) => {
    const path = ['settings', ...issue.path.map(String)].join('.');
    return { path, text: `${path}: ${issue.message}` };
  });
  return new PixelsError(
    'invalid_settings',
    `Invalid settings: ${described.map((issue) => issue.text).join('; ')}. Fix them and resend (GET /openapi.json describes every setting).`,
    described[0]?.path ?? 'settings',
  );
}

async function readImage(blob: Blob, role: string, field: string, maxPixels: number): Promise<Uint8Array> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  try {
    const header = await probeImage(bytes, role, maxPixels);
    checkImageComplete(bytes, header.format, role, field);
  } catch (error) {
    // Same complaint, with the wire's field name (exemplar[0]) rather than the role's words.
    if (error instanceof PixelsError) throw new PixelsError(error.code, error.message, field);
    throw error;
  }
  return bytes;
}
