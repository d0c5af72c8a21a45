import type { ErrorCode } from '@pixels/shared';
import sharp from 'sharp';
import { editForm, pngBlob } from './app-harness.ts';
import { bombPng, discPng, encodePng, gradientPng, noisePng, truncated } from './png-bytes.ts';

/**
 * Bad requests for POST /v1/edits and around it, each with the status, code and field the server
 * must answer. Sent to the live server by bad-requests.test.ts.
 */
/** The server limits the corpus is written against. */
export const LIMITS = {
  maxBodyBytes: 2_000_000,
  maxPixels: 1024 * 1024,
  maxExemplars: 3,
  maxSteps: 50,
  maxPromptLength: 200,
  maxSettingsBytes: 16 * 1024,
  maxPartHeaderBytes: 2048,
  maxQueuedInputBytesPerUser: 1_500_000,
};

/** A phone photo: stored 96x64 with EXIF orientation 6 (rotate 90° clockwise), shown upright at 64x96. */
async function rotatedPhotoJpeg(): Promise<Uint8Array> {
  const stored = await sharp(gradientPng(96, 64)).jpeg().withMetadata({ orientation: 6 }).toBuffer();
  return new Uint8Array(stored);
}

const SOURCE = gradientPng(64, 64);
const EXEMPLAR = discPng(64, 64);

/** A JPEG header that reads fine (64x64, start of scan) whose data stops before the end marker. */
const TRUNCATED_JPEG = new Uint8Array([
  0xff,
  0xd8,
  0xff,
  0xdb,
  0,
  67,
  0,
  ...new Array(64).fill(1),
  0xff,
  0xc0,
  0,
  17,
  8,
  0,
  64,
  0,
  64,
  3,
  1,
  0x22,
  0,
  2,
  0x11,
  1,
  3,
  0x11,
  1,
  0xff,
  0xda,
  0,
  12,
  3,
  1,
  0,
  2,
  0x11,
  3,
  0x11,
  0,
  63,
  0,
  ...new Array(100).fill(0x55),
]);
const GIF = new Uint8Array([...Buffer.from('GIF89a'), 64, 0, 64, 0, 0x80, 0, 0, 0, 0, 0, 255, 255, 255, 0x3b]);

/** A request and what the server must answer. */
export interface BadRequest {
  name: string;
  request: () => Promise<{ path?: string; init: RequestInit; token?: string | null }>;
  status: number;
  code: ErrorCode;
  field?: string;
}

const post = (body: BodyInit, headers: Record<string, string> = {}) => ({
  init: { method: 'POST', body, headers } as RequestInit,
});
const form = (parts: Parameters<typeof editForm>[0]) => async () => post(editForm(parts));
const withSettings = (settings: unknown) => form({ settings, source: SOURCE, exemplars: [EXEMPLAR] });
const rawForm = (build: (form: FormData) => void) => async () => {
  const data = new FormData();
  build(data);
  return post(data);
};
/** A multipart body as bytes (to cut or corrupt it) and its Content-Type. */
async function serialize(data: FormData): Promise<{ bytes: Uint8Array; contentType: string }> {
  const response = new Response(data);
  return { bytes: new Uint8Array(await response.arrayBuffer()), contentType: response.headers.get('content-type')! };
}

export const CORPUS: BadRequest[] = [
  // The body itself
  {
    name: 'JSON instead of multipart',
    request: async () => post('{"steps":20}', { 'Content-Type': 'application/json' }),
    status: 400,
    code: 'bad_request',
  },
  { name: 'no Content-Type', request: async () => post(new Uint8Array([1, 2, 3])), status: 400, code: 'bad_request' },
  {
    name: 'multipart without a boundary',
    request: async () => post('x', { 'Content-Type': 'multipart/form-data' }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'multipart with the wrong boundary',
    request: async () => {
      const { bytes } = await serialize(editForm({ source: SOURCE, exemplars: [EXEMPLAR] }));
      return post(bytes.slice(), { 'Content-Type': 'multipart/form-data; boundary=not-the-one-used' });
    },
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'multipart cut off mid-part',
    request: async () => {
      const { bytes, contentType } = await serialize(editForm({ source: SOURCE, exemplars: [EXEMPLAR] }));
      return post(bytes.slice(0, Math.floor(bytes.length * 0.6)), { 'Content-Type': contentType });
    },
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'garbage with a multipart type',
    request: async () => post('\u0000\u0001garbage', { 'Content-Type': 'multipart/form-data; boundary=abc' }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'empty multipart body',
    request: async () => post('', { 'Content-Type': 'multipart/form-data; boundary=abc' }),
    status: 400,
    code: 'bad_request',
  },
  {
    name: 'body over the limit (Content-Length)',
    request: async () =>
      post(new Uint8Array(LIMITS.maxBodyBytes + 1), { 'Content-Type': 'multipart/form-data; boundary=abc' }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'body over the limit (chunked, no length)',
    request: async () => {
      const chunk = new Uint8Array(250_000);
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          for (let sent = 0; sent <= LIMITS.maxBodyBytes; sent += chunk.length) controller.enqueue(chunk);
          controller.close();
        },
      });
      return {
        init: {
          method: 'POST',
          body,
          headers: { 'Content-Type': 'multipart/form-data; boundary=abc' },
          duplex: 'half',
        } as RequestInit,
      };
    },
    status: 413,
    code: 'payload_too_large',
  },
  // Parts
  {
    name: 'no source',
    request: form({ settings: {}, exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'missing_part',
    field: 'source',
  },
  {
    name: 'no exemplar',
    request: form({ settings: {}, source: SOURCE }),
    status: 400,
    code: 'missing_part',
    field: 'exemplar',
  },
  {
    name: 'settings only',
    request: form({ settings: { steps: 10 } }),
    status: 400,
    code: 'missing_part',
    field: 'source',
  },
  {
    name: 'source sent as text',
    request: rawForm((f) => {
      f.append('source', 'source.png');
      f.append('exemplar', pngBlob(EXEMPLAR));
    }),
    status: 400,
    code: 'bad_request',
    field: 'source',
  },
  {
    name: 'exemplar sent as text',
    request: rawForm((f) => {
      f.append('source', pngBlob(SOURCE));
      f.append('exemplar', 'x');
    }),
    status: 400,
    code: 'bad_request',
    field: 'exemplar',
  },
  {
    name: 'unknown part',
    request: rawForm((f) => {
      f.append('source', pngBlob(SOURCE));
      f.append('mask', pngBlob(EXEMPLAR));
    }),
    status: 400,
    code: 'bad_request',
    field: 'mask',
  },
  {
    name: 'two sources',
    request: rawForm((f) => {
      f.append('source', pngBlob(SOURCE));
      f.append('source', pngBlob(SOURCE));
    }),
    status: 400,
    code: 'bad_request',
    field: 'source',
  },
  {
    name: 'two settings parts',
    request: rawForm((f) => {
      f.append('settings', '{}');
      f.append('settings', '{}');
    }),
    status: 400,
    code: 'bad_request',
    field: 'settings',
  },
  {
    name: 'too many exemplars',
    request: form({ settings: {}, source: SOURCE, exemplars: [EXEMPLAR, EXEMPLAR, EXEMPLAR, EXEMPLAR] }),
    status: 400,
    code: 'too_many_exemplars',
    field: 'exemplar',
  },
  // Settings
  {
    name: 'settings not JSON',
    request: withSettings('{steps: 20'),
    status: 400,
    code: 'invalid_settings',
    field: 'settings',
  },
  {
    name: 'settings an array',
    request: withSettings('[1,2]'),
    status: 400,
    code: 'invalid_settings',
    field: 'settings',
  },
  { name: 'settings null', request: withSettings('null'), status: 400, code: 'invalid_settings', field: 'settings' },
  {
    name: 'steps as a string',
    request: withSettings({ steps: '20' }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.steps',
  },
  {
    name: 'zero steps',
    request: withSettings({ steps: 0 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.steps',
  },
  {
    name: 'absurd steps',
    request: withSettings({ steps: 1e9 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.steps',
  },
  {
    name: 'fractional steps',
    request: withSettings({ steps: 2.5 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.steps',
  },
  {
    name: "steps over this server's limit",
    request: withSettings({ steps: 100 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.steps',
  },
  {
    name: 'negative strength',
    request: withSettings({ strength: -1 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.strength',
  },
  {
    name: 'strength above 1',
    request: withSettings({ strength: 7 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.strength',
  },
  {
    name: 'strength as a word',
    request: withSettings({ strength: 'high' }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.strength',
  },
  {
    name: 'unknown threshold curve',
    request: withSettings({ threshold: 'zigzag' }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.threshold',
  },
  {
    name: 'misspelt setting',
    request: withSettings({ strenght: 0.5 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings',
  },
  {
    name: 'negative seed',
    request: withSettings({ seed: -3 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.seed',
  },
  {
    name: 'seed beyond 32 bits',
    request: withSettings({ seed: 2 ** 40 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.seed',
  },
  {
    name: 'prompt over the wire cap',
    request: withSettings({ prompt: 'x'.repeat(1001) }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.prompt',
  },
  {
    name: "prompt over this server's limit",
    request: withSettings({ prompt: 'x'.repeat(300) }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.prompt',
  },
  {
    name: 'negative prompt over the limit',
    request: withSettings({ negativePrompt: 'y'.repeat(201) }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.negativePrompt',
  },
  {
    name: 'absurd guidance',
    request: withSettings({ guidance: 1e9 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.guidance',
  },
  {
    name: 'unknown model',
    request: withSettings({ model: 'sdxl-nope' }),
    status: 400,
    code: 'unknown_model',
    field: 'settings.model',
  },
  {
    name: 'empty model name',
    request: withSettings({ model: '' }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.model',
  },
  {
    name: 'grow beyond the frame',
    request: withSettings({ grow: -5000 }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.grow',
  },
  {
    name: 'unknown fit mode',
    request: withSettings({ fit: 'tile' }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.fit',
  },
  {
    name: 'previews as a word',
    request: withSettings({ previews: 'yes' }),
    status: 400,
    code: 'invalid_settings',
    field: 'settings.previews',
  },
  // Images
  {
    name: 'source is text',
    request: form({ source: new TextEncoder().encode('hello, not an image'), exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'invalid_image',
    field: 'source',
  },
  {
    name: 'empty source file',
    request: form({ source: new Uint8Array(), exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'invalid_image',
    field: 'source',
  },
  {
    name: 'source is a GIF',
    request: form({ source: GIF, exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'invalid_image',
    field: 'source',
  },
  {
    name: 'PNG signature only',
    request: form({ source: SOURCE.slice(0, 8), exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'invalid_image',
    field: 'source',
  },
  {
    name: 'truncated PNG source',
    request: form({ source: truncated(SOURCE), exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'invalid_image',
    field: 'source',
  },
  {
    name: 'truncated second exemplar',
    request: form({ source: SOURCE, exemplars: [EXEMPLAR, truncated(EXEMPLAR, 60)] }),
    status: 400,
    code: 'invalid_image',
    field: 'exemplar[1]',
  },
  {
    name: 'truncated JPEG map',
    request: form({ source: SOURCE, exemplars: [EXEMPLAR], map: TRUNCATED_JPEG }),
    status: 400,
    code: 'invalid_image',
    field: 'map',
  },
  {
    name: 'huge source (over the pixel limit)',
    request: form({ source: encodePng(1100, 1000, () => [0, 0, 0, 255]), exemplars: [EXEMPLAR] }),
    status: 413,
    code: 'image_too_large',
    field: 'source',
  },
  {
    name: 'decompression bomb exemplar',
    request: form({ source: SOURCE, exemplars: [bombPng(20_000)] }),
    status: 413,
    code: 'image_too_large',
    field: 'exemplar[0]',
  },
  {
    name: 'decompression bomb map',
    request: form({ source: SOURCE, exemplars: [EXEMPLAR], map: bombPng(50_000) }),
    status: 413,
    code: 'image_too_large',
    field: 'map',
  },
  // Limits of the multipart parser
  {
    name: 'more parts than an edit has',
    request: form({ settings: {}, source: SOURCE, exemplars: Array.from({ length: 12 }, () => EXEMPLAR) }),
    status: 413,
    code: 'payload_too_large',
  },
  {
    name: 'settings part over its size limit',
    request: withSettings(`{"prompt":"${'x'.repeat(20_000)}"}`),
    status: 413,
    code: 'payload_too_large',
    field: 'settings',
  },
  {
    name: 'a part header over its size limit',
    request: async () => {
      const boundary = 'corpus-boundary';
      const body = `--${boundary}\r\nContent-Disposition: form-data; name="source"; filename="${'s'.repeat(4000)}.png"\r\nContent-Type: image/png\r\n\r\nxx\r\n--${boundary}--\r\n`;
      return post(body, { 'Content-Type': `multipart/form-data; boundary=${boundary}` });
    },
    status: 400,
    code: 'bad_request',
  },
  // Shapes the model cannot serve, orientation, bytes
  {
    name: 'a 1x1000000 source (aspect far beyond 1:16)',
    request: form({ source: encodePng(1, 1_000_000, () => [9, 9, 9, 255]), exemplars: [EXEMPLAR] }),
    status: 400,
    code: 'invalid_image',
    field: 'source',
  },
  {
    name: 'a 20x400 exemplar (1:20)',
    request: form({ source: SOURCE, exemplars: [encodePng(20, 400)] }),
    status: 400,
    code: 'invalid_image',
    field: 'exemplar[0]',
  },
  {
    name: "a map drawn on a phone photo's stored (sideways) size",
    request: async () =>
      post(editForm({ source: await rotatedPhotoJpeg(), exemplars: [EXEMPLAR], map: gradientPng(96, 64) })),
    status: 400,
    code: 'map_mismatch',
    field: 'map',
  },
  {
    name: 'images over what one user may have queued',
    request: form({ source: noisePng(690, 690), exemplars: [EXEMPLAR] }),
    status: 413,
    code: 'payload_too_large',
  },
  // Around the edit
  {
    name: 'no token',
    request: async () => ({ ...post(editForm({ source: SOURCE, exemplars: [EXEMPLAR] })), token: null }),
    status: 401,
    code: 'unauthorized',
  },
  {
    name: 'unknown job',
    request: async () => ({ path: '/v1/jobs/AAAAAAAAAAAAAAAAAAAAAA', init: {} }),
    status: 404,
    code: 'not_found',
    field: 'id',
  },
  {
    name: 'cancel an unknown job',
    request: async () => ({ path: '/v1/jobs/not-an-id', init: { method: 'DELETE' } }),
    status: 404,
    code: 'not_found',
    field: 'id',
  },
  {
    name: 'wrong method',
    request: async () => ({ path: '/v1/edits', init: { method: 'PUT', body: 'x' } }),
    status: 404,
    code: 'not_found',
  },
];
