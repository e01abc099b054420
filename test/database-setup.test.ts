/**
 * The design document's setup check, for real: connect, migrate, write, read back, health.
 * Runs against the test PostgreSQL (embedded unless DATABASE_URL is set).
 */
import { describe, expect, it } from 'vitest';
import { migrate, migrationStatus } from '../src/bootstrap/postgres/migrate.js';
import { readMigrations } from '../src/bootstrap/postgres/migrations.js';
import { useTestDatabase } from './support/database.js';

const t = await useTestDatabase();

describe('database setup', () => {
  it('has every committed migration applied, and migrating again changes nothing', async () => {
    const status = await migrationStatus(t.ownerUrl);
    expect(status.applied).toEqual(readMigrations().map((m) => m.name));
    expect(status.pending).toEqual([]);
    expect(await migrate(t.ownerUrl)).toEqual({
      applied: [],
      alreadyApplied: status.applied.length,
    });
  });

  it('writes a user with its audit row and reads both back', async () => {
    const user = await t.db.createUser({
      email: 'Setup.Check@Example.com',
      firstName: 'Setup',
      lastName: 'Check',
    });
    const found = await t.db.postgres.prisma.user.findMany({
      where: { active: true },
      include: { roles: true },
    });
    expect(found.map((u) => u.id)).toContain(user.id);
    const audit = await t.db.postgres.prisma.auditLog.findMany({ where: { entityId: user.id } });
    expect(audit.map((a) => a.action)).toEqual(['user.created']);
  });

  it('reports health with latency and server version', async () => {
    const health = await t.db.postgres.health();
    expect(health.status).toBe('up');
    expect(health.serverVersion).toMatch(/^15\./);
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
    expect((await t.db.health()).status).toBe('ok');
  });
});
