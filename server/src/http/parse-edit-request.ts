import { Busboy, type BusboyFileStream } from '@fastify/busboy';
import { EditSettings, type ModelSummary, PixelsError } from '@pixels/shared';
import type { z } from 'zod';
import type { EditInputs } from '../edit/edit-runner.ts';
import { checkMapMatchesSource } from '../edit/prepare-inputs.ts';
import { unservableShape } from '../edit/working-size.ts';
import { type ImageHeader, probeImage } from '../images/probe.ts';
import { checkImageComplete } from './image-integrity.ts';
import type { ServerLimits } from './server-limits.ts';

export interface EditRequest {
  settings: EditSettings;
  inputs: EditInputs;
}

type RequestLimits = Pick<
  ServerLimits,
  | 'maxBodyBytes'
  | 'maxPartHeaderBytes'
  | 'maxSettingsBytes'
  | 'maxPixels'
  | 'maxExemplars'
  | 'maxSteps'
  | 'maxPromptLength'
  | 'maxAspectRatio'
  | 'minWorkingSide'
>;

const PART_NAMES = ['settings', 'source', 'exemplar', 'exemplar[]', 'map'] as const;
const MAX_FILENAME_LENGTH = 255;
/** Bytes handed to the parser at once (a slice of many tiny parts is a few hundred of them). */
const PARSE_SLICE_BYTES = 4 * 1024;
const EXAMPLE = `curl -F settings='{"strength":0.6}' -F source=@source.png -F exemplar=@exemplar.png`;

/** The parts of a body, read but not yet checked. */
interface Parts {
  settingsText: string | undefined;
  source: Uint8Array | undefined;
  map: Uint8Array | undefined;
  exemplars: Uint8Array[];
}

/**
 * Reads and checks a `POST /v1/edits` body before anything is queued: the multipart parts
 * (streamed through busboy with limits on parts, fields, part headers and total bytes; reading
 * stops at the first problem), the settings against the shared schema and this server's limits,
 * and each image's header (format, upright size, pixel count, a shape the model can serve: a
 * decompression bomb is refused without decoding) and completeness. The headers are passed on
 * with the inputs, so the pipeline does not probe again. Exemplars keep the order they were sent
 * in: their z-order, bottom first.
 */
export async function parseEditRequest(
  request: Request,
  limits: RequestLimits,
  models: readonly ModelSummary[],
): Promise<EditRequest> {
  const parts = await readParts(request, limits);
  const settings = parseSettings(parts.settingsText ?? '{}', limits, models);
  const model = models.find((candidate) => candidate.name === settings.model)!;
  const { source, exemplars, map } = parts;
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
  const shapeFor = (role: string, field: string) => async (bytes: Uint8Array) => {
    const header = await readImage(bytes, role, field, limits.maxPixels);
    const problem = unservableShape(header, model, limits);
    if (problem) {
      throw new PixelsError(
        'invalid_image',
        `The ${role} image is ${header.width}x${header.height}: ${problem}.`,
        field,
      );
    }
    return header;
  };
  const sourceHeader = await shapeFor('source', 'source')(source);
  const exemplarHeaders: ImageHeader[] = [];
  for (const [index, bytes] of exemplars.entries()) {
    exemplarHeaders.push(await shapeFor(`exemplar ${index + 1}`, `exemplar[${index}]`)(bytes));
  }
  const mapHeader = map ? await readImage(map, 'map', 'map', limits.maxPixels) : undefined;
  if (mapHeader) checkMapMatchesSource(sourceHeader, mapHeader);
  return {
    settings,
    inputs: {
      source,
      exemplars,
      ...(map ? { map } : {}),
      headers: { source: sourceHeader, exemplars: exemplarHeaders, ...(mapHeader ? { map: mapHeader } : {}) },
    },
  };
}

function tooLarge(limits: RequestLimits): PixelsError {
  return new PixelsError(
    'payload_too_large',
    `The request is larger than this server's limit of ${limits.maxBodyBytes} bytes; send smaller images (the frame at 1x) or ask the admin to raise --max-body-bytes.`,
  );
}

/**
 * Streams the body through busboy. At the first limit or malformed part it stops reading (the
 * error answer then closes the connection, so the rest is never drained); a million tiny parts
 * cost no more than the few the part limit lets through.
 */
async function readParts(request: Request, limits: RequestLimits): Promise<Parts> {
  const contentType = request.headers.get('content-type') ?? '';
  if (!/^multipart\/form-data\s*;.*boundary=/i.test(contentType)) {
    throw new PixelsError(
      'bad_request',
      `POST /v1/edits takes multipart/form-data with a boundary, not '${contentType.slice(0, 100) || 'no Content-Type'}'; for example ${EXAMPLE}`,
    );
  }
  const declaredLength = Number(request.headers.get('content-length') ?? Number.NaN);
  if (declaredLength > limits.maxBodyBytes) throw tooLarge(limits);
  if (!request.body) throw unreadable();

  const parts: Parts = { settingsText: undefined, source: undefined, map: undefined, exemplars: [] };
  // settings, source, map and the exemplars, plus one so that one exemplar too many is named as such.
  const maxParts = 3 + limits.maxExemplars + 1;
  let failure: PixelsError | undefined;
  const fail = (error: PixelsError) => {
    failure ??= error;
  };
  let parser: InstanceType<typeof Busboy>;
  try {
    parser = new Busboy({
      headers: { 'content-type': contentType },
      limits: {
        parts: maxParts,
        files: maxParts,
        fields: maxParts,
        fieldSize: limits.maxSettingsBytes,
        fileSize: limits.maxBodyBytes,
        headerSize: limits.maxPartHeaderBytes,
        headerPairs: 16,
        fieldNameSize: 100,
      },
    });
  } catch (error) {
    throw unreadable(error);
  }
  const pendingFiles: Promise<void>[] = [];
  const tooManyParts = () =>
    fail(
      new PixelsError(
        'payload_too_large',
        `The multipart body has more than ${maxParts} parts; an edit is one settings part, one source, up to ${limits.maxExemplars} exemplars and one map.`,
      ),
    );
  parser.on('partsLimit', tooManyParts);
  parser.on('filesLimit', tooManyParts);
  parser.on('fieldsLimit', tooManyParts);
  parser.on('field', (name: string, value: string, _nameTruncated: boolean, valueTruncated: boolean) => {
    if (failure) return;
    if (!(PART_NAMES as readonly string[]).includes(name)) return fail(unknownPart(name));
    if (name !== 'settings') {
      return fail(
        new PixelsError(
          'bad_request',
          `The ${name} part is text; send it as a file (curl: -F ${name.replace('[]', '')}=@image.png).`,
          name,
        ),
      );
    }
    if (parts.settingsText !== undefined) return fail(duplicatePart(name));
    if (valueTruncated) {
      return fail(
        new PixelsError(
          'payload_too_large',
          `The settings part is over ${limits.maxSettingsBytes} bytes; settings are a small JSON object such as {"strength":0.6,"steps":20}.`,
          'settings',
        ),
      );
    }
    parts.settingsText = value;
  });
  parser.on('file', (name: string, stream: BusboyFileStream, filename: string) => {
    // busboy cuts a part's headers at maxPartHeaderBytes (memory stays bounded); a file name that
    // long is no export's, so such a part is refused rather than read from its cut headers.
    if (!failure && filename.length > MAX_FILENAME_LENGTH) {
      fail(
        new PixelsError(
          'bad_request',
          `A part's headers are longer than this server takes (${limits.maxPartHeaderBytes} bytes, file names up to ${MAX_FILENAME_LENGTH} characters); send the images with short file names.`,
        ),
      );
    }
    if (failure || !(PART_NAMES as readonly string[]).includes(name)) {
      if (!failure) fail(unknownPart(name));
      stream.resume();
      return;
    }
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => {
      if (!failure) chunks.push(chunk);
    });
    pendingFiles.push(
      new Promise<void>((resolve) => {
        // A part cut off by the end of the body: the parser's own error says the same.
        stream.on('error', (error: unknown) => {
          fail(unreadable(error));
          resolve();
        });
        stream.on('end', () => {
          if (stream.truncated) fail(tooLarge(limits));
          if (failure) return resolve();
          const bytes = new Uint8Array(Buffer.concat(chunks));
          if (name === 'settings') {
            if (parts.settingsText !== undefined) fail(duplicatePart(name));
            else if (bytes.length > limits.maxSettingsBytes) fail(tooLarge(limits));
            else parts.settingsText = new TextDecoder().decode(bytes);
          } else if (name === 'source') {
            if (parts.source) fail(duplicatePart(name));
            parts.source = bytes;
          } else if (name === 'map') {
            if (parts.map) fail(duplicatePart(name));
            parts.map = bytes;
          } else {
            parts.exemplars.push(bytes);
          }
          resolve();
        });
      }),
    );
  });
  const finished = new Promise<void>((resolve) => {
    parser.on('finish', () => resolve());
    parser.on('error', (error: unknown) => {
      fail(unreadable(error));
      resolve();
    });
  });

  const reader = request.body.getReader();
  let received = 0;
  try {
    while (!failure) {
      const { done, value } = await reader.read();
      if (done) break;
      received += value.byteLength;
      if (received > limits.maxBodyBytes) {
        fail(tooLarge(limits));
        break;
      }
      // In slices, so that a chunk of thousands of tiny parts stops being parsed at the part limit.
      for (let offset = 0; offset < value.byteLength && !failure; offset += PARSE_SLICE_BYTES) {
        if (!parser.write(value.subarray(offset, offset + PARSE_SLICE_BYTES))) {
          await new Promise((resolve) => parser.once('drain', resolve));
        }
      }
    }
  } catch (error) {
    // A body-limit wrapper or a client that went away.
    fail(unreadable(error));
  }
  if (failure) {
    // Stop here: the rest of the body is not read, and the error answer closes the connection. The
    // reader is not released: the first release in a process builds Node's 'Reader released' error,
    // whose stack the source maps resolve, about 10 ms of this thread for nothing.
    parser.destroy();
    throw failure as PixelsError;
  }
  parser.end();
  await finished;
  await Promise.all(pendingFiles);
  if (failure) throw failure;
  return parts;
}

function unreadable(cause?: unknown): PixelsError {
  return new PixelsError(
    'bad_request',
    'The multipart body could not be read: it is cut off, malformed, or uses another boundary than its Content-Type header; send it again whole.',
    undefined,
    { cause },
  );
}

function unknownPart(name: string): PixelsError {
  return new PixelsError(
    'bad_request',
    `Unknown part '${name.slice(0, 40)}'; the parts are settings, source, exemplar (repeat it, bottom layer first) and map.`,
    name.slice(0, 40),
  );
}

function duplicatePart(name: string): PixelsError {
  return new PixelsError('bad_request', `The ${name} part was sent twice; send it once.`, name);
}

function parseSettings(text: string, limits: RequestLimits, models: readonly ModelSummary[]): EditSettings {
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
  const installed = models.map((model) => model.name);
  if (!installed.includes(settings.model)) {
    throw new PixelsError(
      'unknown_model',
      `Model '${settings.model.slice(0, 100)}' is not installed on this server; installed: ${installed.join(', ')} (GET /v1/models lists them).`,
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

async function readImage(bytes: Uint8Array, role: string, field: string, maxPixels: number): Promise<ImageHeader> {
  try {
    const header = await probeImage(bytes, role, maxPixels);
    checkImageComplete(bytes, header.format, role, field);
    return header;
  } catch (error) {
    // Same complaint, with the wire's field name (exemplar[0]) rather than the role's words.
    if (error instanceof PixelsError) throw new PixelsError(error.code, error.message, field, { cause: error.cause });
    throw error;
  }
}
