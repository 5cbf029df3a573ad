import { describe, expect, it } from 'vitest';
import { redactUrl } from './redact-url.js';

describe('redactUrl', () => {
  it('replaces an embedded password and leaves the rest', () => {
    expect(redactUrl('postgres://app:s3cret@db.example:5432/fleet')).toBe('postgres://app:***@db.example:5432/fleet');
    expect(redactUrl('mqtt://127.0.0.1:1883')).toBe('mqtt://127.0.0.1:1883');
    expect(redactUrl('not a url')).toBe('(unparseable url)');
  });
});
