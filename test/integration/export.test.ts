import { randomBytes } from 'node:crypto';
import {
  existsSync,
  lstatSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { beforeAll, describe, expect, it } from 'vitest';
import { useTestDatabase } from '../support/database.js';

const t = await useTestDatabase();
const HASH = '$argon2id$v=19$m=65536,t=3,p=4$ZXhwb3J0c2FsdA$ZXhwb3J0aGFzaA';
const publicKey = new Uint8Array(randomBytes(64));
const credentialId = new Uint8Array(randomBytes(32));

beforeAll(async () => {
  const user = await t.db.createUser({
    email: 'export@example.com',
    firstName: 'Ex',
    lastName: 'Port',
    passwordHash: HASH,
  });
  await t.db.postgres.assignRole(user.id, 'agent');
  await t.db.postgres.registerPasskey(user.id, {
    credentialId,
    publicKey,
    deviceType: 'singleDevice',
    nickname: 'Key',
  });
  for (let i = 0; i < 7; i++)
    await t.db.postgres.createTicket({ title: `Ticket ${i}`, requesterId: user.id });
  await t.db.postgres.setConfig('mail.settings', {
    password: 'hunter2-export',
    host: 'smtp.example.com',
  });
  await t.db.postgres.setConfig('oauth.client_secret', 'plain-secret-export');
});

async function exportLines(options: { includeUsers?: boolean; batchSize?: number }) {
  const out = new PassThrough();
  const chunks: Buffer[] = [];
  out.on('data', (chunk: Buffer) => chunks.push(chunk));
  const counts = await t.db.exportData({ ...options, output: out });
  const text = Buffer.concat(chunks).toString('utf8');
  return {
    counts,
    text,
    lines: text
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { type: string; data: Record<string, unknown> }),
  };
}

describe('exportData', () => {
  it('streams one JSON object per line, across batches, with counts', async () => {
    const { counts, lines } = await exportLines({ includeUsers: true, batchSize: 3 });
    expect(counts).toMatchObject({ ticket: 7, user: 1, role: 3, permission: 16, system_config: 2 });
    expect(lines.filter((l) => l.type === 'ticket')).toHaveLength(7);
    const user = lines.find((l) => l.type === 'user');
    expect(user?.data).toMatchObject({ email: 'export@example.com', roles: ['agent'] });
  });

  it('never contains password hashes, passkey key material or plain secrets', async () => {
    const { text } = await exportLines({ includeUsers: true });
    expect(text).not.toContain(HASH);
    expect(text).not.toContain('passwordHash');
    expect(text).not.toContain('publicKey');
    expect(text).not.toContain('credentialId');
    expect(text).not.toContain(Buffer.from(publicKey).toString('base64'));
    expect(text).not.toContain('hunter2-export');
    expect(text).not.toContain('plain-secret-export');
    expect(text).toContain('"nickname":"Key"');
  });

  it('leaves users out unless asked', async () => {
    const { counts, lines } = await exportLines({});
    expect(counts.user).toBeUndefined();
    expect(lines.some((l) => l.type === 'user')).toBe(false);
  });

  it('rejects an unwritable path with a typed error, leaving no file behind', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nova-export-')), 'missing-dir', 'out.ndjson');
    await expect(t.db.exportData({ output: file })).rejects.toMatchObject({
      code: 'VALIDATION_FAILED',
      field: 'output',
    });
    expect(existsSync(file)).toBe(false);
  });

  it('replaces a file or symlink already at the path, never writing through it', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nova-export-'));
    // A file someone created first (they may hold it open) and a symlink to another file.
    const planted = join(dir, 'planted.ndjson');
    writeFileSync(planted, 'old contents\n', { mode: 0o666 });
    const before = statSync(planted).ino;
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'untouched\n');
    const link = join(dir, 'link.ndjson');
    symlinkSync(victim, link);
    for (const file of [planted, link]) await t.db.exportData({ output: file });
    expect(statSync(planted).ino).not.toBe(before);
    expect(readFileSync(planted, 'utf8')).not.toContain('old contents');
    expect(lstatSync(link).isSymbolicLink()).toBe(false);
    expect(readFileSync(victim, 'utf8')).toBe('untouched\n');
    for (const file of [planted, link]) expect(statSync(file).mode & 0o777).toBe(0o600);
    // Nothing left beside them.
    expect(readdirSync(dir).sort()).toEqual(['link.ndjson', 'planted.ndjson', 'victim.txt']);
  });

  it('surfaces a stream that fails mid-export instead of hanging', async () => {
    const broken = new PassThrough({ highWaterMark: 1 });
    broken.on('data', () => broken.destroy(new Error('disk full')));
    await expect(t.db.exportData({ output: broken, batchSize: 2 })).rejects.toThrow(/disk full/);
  });

  it('writes to a file readable only by its owner', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'nova-export-')), 'export.ndjson');
    const counts = await t.db.exportData({ includeUsers: true, output: file });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(Object.values(counts).reduce((a, b) => a + b, 0));
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });
});
