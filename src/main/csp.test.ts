import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { buildContentSecurityPolicy, buildMetaFallbackPolicy, tileSource } from './csp.js';

describe('CSP', () => {
  it('derives the tile source from the template', () => {
    expect(tileSource('https://tile.openstreetmap.org/{z}/{x}/{y}.png')).toBe('https://tile.openstreetmap.org');
    expect(tileSource('https://{s}.tile.example.org/{z}/{x}/{y}.png')).toBe('https://*.tile.example.org');
    expect(tileSource('http://127.0.0.1:8080/tiles/{z}/{x}/{y}.png')).toBe('http://127.0.0.1:8080');
    expect(tileSource('')).toBeNull();
    expect(tileSource("https://x.org'; script-src *")).toBeNull();
  });

  it('is strict: self scripts only, inline styles, the tile host in img-src and connect-src (tile cache), blob: images, extra connect sources', () => {
    const csp = buildContentSecurityPolicy({
      tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
      connect: ['ws://127.0.0.1:4320', null],
    });
    expect(csp.split('; ')).toEqual([
      "default-src 'self'",
      "img-src 'self' data: blob: https://tile.openstreetmap.org",
      "style-src 'self' 'unsafe-inline'",
      "script-src 'self'",
      "connect-src 'self' ws://127.0.0.1:4320 https://tile.openstreetmap.org",
      "font-src 'self' data:",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]);
    expect(buildContentSecurityPolicy({ tileUrl: '' })).toContain("img-src 'self' data: blob:;");
    expect(buildContentSecurityPolicy({ tileUrl: '' })).toContain("connect-src 'self';");
    // a local tile directory is served on the console's own origin: nothing foreign
    expect(buildContentSecurityPolicy({ tileUrl: '/tiles/{z}/{x}/{y}.png' })).toContain("img-src 'self' data: blob:;");
  });

  it("index.html's <meta> fallback is the header's policy, runtime hosts as their schemes", () => {
    const html = readFileSync(new URL('../renderer/index.html', import.meta.url), 'utf8');
    const meta = /http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1];
    expect(meta).toBe(buildMetaFallbackPolicy());
    const header = buildContentSecurityPolicy({
      tileUrl: 'https://tile.openstreetmap.org/{z}/{x}/{y}.png',
      connect: ['http://127.0.0.1:4310'],
    })
      .split('; ')
      .filter((d) => !d.startsWith('frame-ancestors'));
    const fallback = meta!.split('; ');
    // same directives in the same order; the same sources except the hosts, which become their schemes
    expect(fallback.map((d) => d.split(' ')[0])).toEqual(header.map((d) => d.split(' ')[0]));
    for (const [i, d] of fallback.entries()) {
      if (d.startsWith('img-src') || d.startsWith('connect-src')) {
        expect(d).not.toMatch(/\*|'unsafe/);
        for (const src of header[i]!.split(' ').slice(1))
          expect(d.split(' ')).toContain(/^[a-z]+:\/\//.test(src) ? `${src.split(':')[0]}:` : src);
      } else expect(d).toBe(header[i]);
    }
  });
});
