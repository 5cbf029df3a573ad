import { describe, expect, it } from 'vitest';
import { buildContentSecurityPolicy, tileSource } from './csp.js';

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
});
