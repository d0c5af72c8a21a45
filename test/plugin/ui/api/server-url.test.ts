import { describe, expect, it } from 'vitest';
import { normalizeServerUrl } from '../../../../plugin/src/ui/api/server-url.ts';

describe('normalizeServerUrl', () => {
  it('accepts https anywhere and http on this computer, without a trailing slash', () => {
    expect(normalizeServerUrl(' https://pixels.example.com/ ')).toBe('https://pixels.example.com');
    expect(normalizeServerUrl('https://gpu.example.com/pixels/')).toBe('https://gpu.example.com/pixels');
    expect(normalizeServerUrl('http://localhost:8787')).toBe('http://localhost:8787');
    expect(normalizeServerUrl('http://127.0.0.1:8787/')).toBe('http://127.0.0.1:8787');
  });

  it('explains what to type instead', () => {
    expect(() => normalizeServerUrl('pixels.local')).toThrow(
      '"pixels.local" is not a URL. Enter the server\'s address, for example https://pixels.example.com or http://localhost:8787.',
    );
    expect(() => normalizeServerUrl('http://192.168.1.20:8787')).toThrow(
      'Figma only allows plain http:// to localhost. Use https://192.168.1.20:8787 for a server on another machine (see the plugin README).',
    );
    expect(() => normalizeServerUrl('ftp://example.com')).toThrow(
      'The server URL must start with https:// (or http:// for a server on this computer), not ftp://.',
    );
    expect(() => normalizeServerUrl('https://example.com/?a=1')).toThrow(
      'The server URL must not have a query (?…) or fragment (#…).',
    );
  });
});
