import { describe, expect, it } from 'vitest';
import { REDACTED, redact } from '../../src/lib/db/postgres/redact.js';

describe('redact', () => {
  it('replaces secret-named values at any depth and keeps everything else', () => {
    const input = {
      email: 'a@example.com',
      passwordHash: '$argon2id$...',
      nested: { apiKey: 'k', api_key: 'k', token: 't', list: [{ clientSecret: 's', ok: 1 }] },
      Authorization: 'Bearer x',
      publicKey: new Uint8Array([1, 2]),
      passkeyCount: 2,
    };
    expect(redact(input)).toEqual({
      email: 'a@example.com',
      passwordHash: REDACTED,
      nested: {
        apiKey: REDACTED,
        api_key: REDACTED,
        token: REDACTED,
        list: [{ clientSecret: REDACTED, ok: 1 }],
      },
      Authorization: REDACTED,
      publicKey: REDACTED,
      passkeyCount: 2,
    });
  });

  it('makes bigints, dates and bytes JSON-safe and leaves null secrets as null', () => {
    const date = new Date('2026-01-02T03:04:05.000Z');
    expect(redact({ signCount: 5n, at: date, raw: new Uint8Array([1]), password: null })).toEqual({
      signCount: '5',
      at: '2026-01-02T03:04:05.000Z',
      raw: REDACTED,
      password: null,
    });
    expect(JSON.stringify(redact({ n: 1n }))).toBe('{"n":"1"}');
  });
});
