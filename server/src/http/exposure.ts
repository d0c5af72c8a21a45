/** Whether `host` is reachable from this machine only (127.0.0.0/8, ::1, localhost). */
export function isLoopbackHost(host: string): boolean {
  const bare = host.replace(/^\[(.*)\]$/, '$1').toLowerCase();
  return (
    bare === 'localhost' ||
    bare === '::1' ||
    /^127(\.\d{1,3}){3}$/.test(bare) ||
    /^::ffff:127(\.\d{1,3}){3}$/.test(bare)
  );
}

export interface ExposureCheck {
  host: string;
  tokenCount: number;
  insecure: boolean;
  tls: boolean;
}

/** A server that would be open to the network without tokens, refused at start. */
export class ExposureError extends Error {}

/**
 * The rule of exposure: on loopback the server may run without tokens; bound to any other address
 * it needs tokens, or an explicit --insecure. Returns warnings worth logging.
 */
export function checkExposure({ host, tokenCount, insecure, tls }: ExposureCheck): string[] {
  if (isLoopbackHost(host)) return [];
  const warnings: string[] = [];
  if (tokenCount === 0) {
    if (!insecure) {
      throw new ExposureError(
        `Refusing to listen on ${host} without tokens: anyone on the network could use this server. ` +
          'Give --tokens-file (or PIXELS_TOKENS), listen on 127.0.0.1 behind a reverse proxy, or pass --insecure if that is really meant.',
      );
    }
    warnings.push(`--insecure: listening on ${host} without tokens; anyone who can reach it can submit and read jobs.`);
  }
  if (!tls) {
    warnings.push(
      `Serving plain http on ${host}: Figma (an https page) can reach http only on localhost. Use --tls-cert/--tls-key or a reverse proxy with https.`,
    );
  }
  return warnings;
}
