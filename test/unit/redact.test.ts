import { describe, expect, it } from 'vitest';
import { redactUrl } from '../../src/cli/database.js';
import {
  isSecretKey,
  REDACTED,
  redact,
  redactConfigRow,
  redactUrlCredentials,
} from '../../src/lib/redact.js';

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

describe('redactConfigRow and redactUrl', () => {
  it('hides the whole value of a secret-named config key', () => {
    expect(redactConfigRow({ key: 'smtp.password', value: 'hunter2' })).toEqual({
      key: 'smtp.password',
      value: REDACTED,
    });
    expect(redactConfigRow({ key: 'search.max_results', value: 50 })).toEqual({
      key: 'search.max_results',
      value: 50,
    });
  });

  it('masks passwords in the userinfo and in ?password=, whatever they contain', () => {
    expect(redactUrl('postgresql://u:s3cr%2Fet@h:5432/d')).toBe('postgresql://u:***@h:5432/d');
    expect(redactUrl('postgresql://:pw@h/d')).toBe('postgresql://:***@h/d');
    expect(redactUrl('postgresql://h/d?user=u&password=pw')).toBe(
      'postgresql://h/d?user=u&password=***',
    );
    expect(redactUrl('not a url :pw@')).toBe('<unparseable URL>');
  });
});

describe('redactUrlCredentials', () => {
  it('masks the password of any URL inside free text, and nothing else', () => {
    expect(
      redactUrlCredentials(
        'connect failed: postgresql://nova:hunter2@db:5432/nova and mongodb://root:s3cr%40t@m1,m2/?replicaSet=rs0',
      ),
    ).toBe(
      'connect failed: postgresql://nova:[REDACTED]@db:5432/nova and mongodb://root:[REDACTED]@m1,m2/?replicaSet=rs0',
    );
    expect(redactUrlCredentials('see https://example.com/a:b@c')).toBe(
      'see https://example.com/a:b@c',
    );
    expect(redactUrlCredentials('no url here: a:b@c')).toBe('no url here: a:b@c');
  });

  it('treats pass and dsn as secrets when they are a word of the key, not a part of one', () => {
    for (const key of [
      'pass',
      'smtp_pass',
      'smtp.pass',
      'legacy.pass',
      'smtpPass',
      'mail-dsn',
      'legacy.dsn',
      'sentryDsn',
    ]) {
      expect(isSecretKey(key), key).toBe(true);
    }
    for (const key of ['passport', 'bypass', 'compass', 'passengers', 'dsnHost']) {
      expect(isSecretKey(key), key).toBe(false);
    }
  });

  it('treats pwd, jwt, bearer, pass and dsn keys as secrets', () => {
    expect(
      redact({ pwd: 'x', jwt: 'x', bearerToken: 'x', pass: 'x', dsn: 'x', passport: 'ok' }),
    ).toEqual({
      pwd: REDACTED,
      jwt: REDACTED,
      bearerToken: REDACTED,
      pass: REDACTED,
      dsn: REDACTED,
      passport: 'ok',
    });
  });
});
