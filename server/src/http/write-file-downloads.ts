import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { FileDownload } from '../jobs/file-download.ts';

type Bindings = HttpBindings | Http2Bindings;
type Fetch = (request: Request, env: Bindings) => Response | Promise<Response>;

/**
 * The app's fetch for the Node listener: a response whose body is a file download (a result) is
 * written to the socket by the download itself, from buffers it reuses (FileDownload.writeTo),
 * with the status and headers the app and its middleware gave it; every other response goes
 * through the adapter as usual.
 */
export function writingFileDownloads(fetch: Fetch): Fetch {
  const send = (response: Response, env: Bindings): Response => {
    const download = FileDownload.of(response.body);
    if (!download) return response;
    env.outgoing.writeHead(response.status, Object.fromEntries(response.headers));
    void download.writeTo(env.outgoing);
    return RESPONSE_ALREADY_SENT;
  };
  return function fetchWritingFileDownloads(request, env) {
    const response = fetch(request, env);
    return response instanceof Promise ? response.then((answer) => send(answer, env)) : send(response, env);
  };
}
