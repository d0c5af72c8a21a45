const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * Checks a server URL the way Figma will treat it: the plugin runs on an https page, so plain
 * http reaches only this computer. Returns the URL without a trailing slash, or throws a message
 * that says what to type instead.
 */
export function normalizeServerUrl(input: string): string {
  const trimmed = input.trim();
  let url: URL;
  try {
    url = new URL(trimmed);
  } catch {
    throw new Error(
      `"${trimmed}" is not a URL. Enter the server's address, for example https://pixels.example.com or http://localhost:8787.`,
    );
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new Error(
      `The server URL must start with https:// (or http:// for a server on this computer), not ${url.protocol}//.`,
    );
  }
  if (url.protocol === 'http:' && !LOOPBACK_HOSTS.has(url.hostname)) {
    throw new Error(
      `Figma only allows plain http:// to localhost. Use https://${url.host}${url.pathname === '/' ? '' : url.pathname} for a server on another machine (see the plugin README).`,
    );
  }
  if (url.search || url.hash) throw new Error('The server URL must not have a query (?…) or fragment (#…).');
  return `${url.origin}${url.pathname}`.replace(/\/+$/, '');
}
