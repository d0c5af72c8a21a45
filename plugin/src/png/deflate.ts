/**
 * zlib-wrapped deflate through the platform's Compression Streams (Chromium and Node 20 both have
 * them), which is the format PNG's IDAT data uses. Native code, so large images stay fast. The
 * bytes are written into the stream in one chunk: reading them back out of a Blob's stream would
 * cost a copy and a trip through the browser's blob store per 64 KiB.
 */
async function pipe(bytes: Uint8Array, transform: CompressionStream | DecompressionStream): Promise<Uint8Array> {
  const writer = transform.writable.getWriter();
  const written = writer.write(bytes as Uint8Array<ArrayBuffer>).then(() => writer.close());
  const [output] = await Promise.all([new Response(transform.readable).arrayBuffer(), written]);
  return new Uint8Array(output);
}

export function deflate(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(bytes, new CompressionStream('deflate'));
}

export function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  return pipe(bytes, new DecompressionStream('deflate'));
}
