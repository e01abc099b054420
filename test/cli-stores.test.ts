/** `nova bootstrap mongo|elastic|kibana|all` and `nova health` with MongoDB and Elasticsearch, as a child process. */
import { spawn } from 'node:child_process';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { freePort } from '../src/bootstrap/postgres/embedded.js';
import { CLI, cleanEnv, run, TSX } from './support/cli.js';
import { createEmptyDatabase } from './support/database.js';
import { startScriptedKibana } from './support/kibana-saved-objects.js';

/**
 * A bootstrapped database whose search outbox holds one delete, the environment pointing the
 * indexer at it and at a closed port for Elasticsearch, and a connection to look at the row.
 */
async function outboxWithOneRow() {
  const url = await createEmptyDatabase();
  await run(['bootstrap', 'postgres'], { DATABASE_URL: url });
  const env = {
    DATABASE_URL: url,
    ELASTIC_URL: `http://127.0.0.1:${await freePort()}`,
    ELASTIC_MAX_RETRIES: '0',
  };
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query(
    `INSERT INTO search_outbox (entity_type, entity_id, operation, entity_version)
     VALUES ('ticket', gen_random_uuid(), 'delete', 2)`,
  );
  return { env, client };
}

describe('nova CLI with MongoDB and Elasticsearch', () => {
  it('bootstrap mongo needs MONGO_URL and says so', async () => {
    const result = await run(['bootstrap', 'mongo']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /error CONFIG_INVALID: MONGO_URL is required.*\(field: MONGO_URL\)/,
    );
  });

  it('bootstrap mongo against a server that is not there: bounded wait, one clear error, no secrets', async () => {
    const port = await freePort();
    const result = await run(['bootstrap', 'mongo', '--dry-run', '--wait', '1s'], {
      MONGO_URL: `mongodb://127.0.0.1:${port}/?directConnection=true`,
      MONGO_ADMIN_USER: 'root',
      MONGO_ADMIN_PASSWORD: 'hunter2',
      MONGO_SERVER_SELECTION_TIMEOUT_MS: '300',
    });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^nova: error UNAVAILABLE: MongoDB bootstrap failed/);
    expect(result.stderr).not.toContain('hunter2');
    expect(result.stderr).not.toMatch(/\n\s+at /);
    expect((await run(['bootstrap', 'mongo', '--wait', 'soon'])).code).toBe(2);
  });

  it('bootstrap elastic needs ELASTIC_URL, and gives up on a cluster that is not there within --wait', async () => {
    const missing = await run(['bootstrap', 'elastic']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(
      /error CONFIG_INVALID: ELASTIC_URL is required.*\(field: ELASTIC_URL\)/,
    );
    const port = await freePort();
    const down = await run(['bootstrap', 'elastic', '--dry-run', '--wait', '1s'], {
      ELASTIC_URL: `http://127.0.0.1:${port}`,
      ELASTIC_ADMIN_USERNAME: 'elastic',
      ELASTIC_ADMIN_PASSWORD: 'hunter2',
      ELASTIC_MAX_RETRIES: '0',
    });
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(
      /^nova: error UNAVAILABLE: Elasticsearch bootstrap failed: ConnectionError/,
    );
    expect(down.stderr).not.toContain('hunter2');
  });

  it('bootstrap kibana needs KIBANA_URL and says so', async () => {
    const result = await run(['bootstrap', 'kibana', '--dry-run']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^nova: error CONFIG_INVALID: KIBANA_URL is required to bootstrap Kibana \(field: KIBANA_URL\)/,
    );
    expect((await run(['bootstrap', 'kibana', '--wait', 'soon'])).code).toBe(2);
  });

  it('bootstrap kibana imports dashboards/ into a scripted Kibana: dry run, apply, then nothing to do', {
    timeout: 90_000,
  }, async () => {
    const kibana = await startScriptedKibana();
    try {
      const env = { KIBANA_URL: kibana.url, KIBANA_USERNAME: 'nova', KIBANA_PASSWORD: 'hunter2' };
      const dry = await run(['bootstrap', 'kibana', '--dry-run'], env);
      expect(dry.code).toBe(0);
      expect(dry.stdout).toContain('change(s) planned (dry run, nothing applied)');
      expect(dry.stdout).toMatch(
        /dashboards\/data-views\.ndjson:\n(.*\n)*\s+index-pattern\s+nova-logs\s+to create\s+nova_logs\n/,
      );
      expect(
        kibana.calls().filter((c) => c.includes('_import') || c.startsWith('POST /api/data_views')),
      ).toEqual([]);

      const applied = await run(['bootstrap', 'kibana', '--json'], env);
      expect(applied.code).toBe(0);
      const report = JSON.parse(applied.stdout);
      expect(report).toMatchObject({ changed: true, credentials: 'KIBANA_USERNAME', warnings: [] });
      expect(report.imported.created).toBe(kibana.objects.size);
      expect(kibana.defaultDataView()).toBe('nova-logs');

      const again = await run(['bootstrap', 'kibana'], env);
      expect(again.code).toBe(0);
      expect(again.stdout).toContain('nothing to change (already up to date)');
      expect(`${dry.stdout}${applied.stdout}${again.stdout}${again.stderr}`).not.toContain(
        'hunter2',
      );
    } finally {
      await kibana.close();
    }
  });

  it('indexer --once keeps the outbox when the cluster is not there, and says why', async () => {
    const { env, client } = await outboxWithOneRow();
    try {
      const result = await run(['indexer', '--once', '--json'], env);
      expect(result.code).toBe(1);
      const report = JSON.parse(result.stdout);
      expect(report).toMatchObject({ claimed: 1, retried: 1, pending: 1, parked: 0 });
      expect(report.lastError.message).toMatch(/ConnectionError/);
      const { rows } = await client.query('SELECT attempts FROM search_outbox');
      expect(rows).toEqual([{ attempts: 0 }]);
    } finally {
      await client.end();
    }
  });

  it('indexer without --once runs until SIGTERM, keeps rows through an outage, and exits 0', async () => {
    const { env, client } = await outboxWithOneRow();
    try {
      const child = spawn(process.execPath, ['--import', TSX, CLI, 'indexer'], {
        env: { ...cleanEnv(), ...env },
      });
      let stdout = '';
      child.stdout.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
      // One round that failed against the closed port, then a signal.
      const deadline = Date.now() + 30_000;
      while (!stdout.includes('1 to retry') && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(stdout).toContain('indexer: running');
      expect(stdout).toContain('1 outbox rows: 0 indexed, 0 deleted, 0 skipped, 1 to retry');
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
      const { rows } = await client.query('SELECT attempts, parked_at FROM search_outbox');
      expect(rows).toEqual([{ attempts: 0, parked_at: null }]);
    } finally {
      await client.end();
    }
  });

  it('reindex needs a target it knows and ELASTIC_URL, and says so', async () => {
    const [none, bogus, extra, unconfigured] = await Promise.all([
      run(['reindex']),
      // Not a target, though every object has a property by that name.
      run(['reindex', 'constructor']),
      run(['reindex', 'kb', 'now']),
      run(['reindex', 'tickets', '--dry-run']),
    ]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain(
      'nova: reindex needs a target: tickets, kb, ai_context (got nothing)',
    );
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain(
      'nova: reindex needs a target: tickets, kb, ai_context (got constructor)',
    );
    expect(extra.code).toBe(2);
    expect(extra.stderr).toContain('unexpected argument: now');
    expect(unconfigured.code).toBe(1);
    expect(unconfigured.stderr).toMatch(
      /error CONFIG_INVALID: ELASTIC_URL is required to reindex.*\(field: ELASTIC_URL\)/,
    );
  });

  it('reindex ai_context without an embedding provider refuses before touching the cluster', async () => {
    const { env, client } = await outboxWithOneRow();
    try {
      const result = await run(['reindex', 'ai_context'], env);
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(
        /^nova: error CONFIG_INVALID: reindex ai_context embeds every published article: set EMBEDDING_URL.*\(field: EMBEDDING_URL\)/,
      );
    } finally {
      await client.end();
    }
  });

  it('bootstrap all runs PostgreSQL and reports MongoDB, Elasticsearch and Kibana as skipped when not configured', async () => {
    const url = await createEmptyDatabase();
    const result = await run(['bootstrap', 'all', '--json'], { DATABASE_URL: url });
    expect(result.code).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(Object.keys(report)).toEqual(['postgres', 'mongo', 'elastic', 'kibana']);
    expect(report.mongo).toEqual({ skipped: 'MONGO_URL is not set' });
    expect(report.elastic).toEqual({ skipped: 'ELASTIC_URL is not set' });
    expect(report.kibana).toEqual({ skipped: 'KIBANA_URL is not set' });
    expect(report.postgres.migrations.applied.length).toBeGreaterThan(0);
    const text = await run(['bootstrap', 'all'], { DATABASE_URL: url });
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(
      /Elasticsearch: skipped \(ELASTIC_URL is not set\)\nKibana: skipped \(KIBANA_URL is not set\)\n$/,
    );
  });

  it('health shows MongoDB not configured, or down with exit 1', async () => {
    const url = await createEmptyDatabase();
    await run(['bootstrap', 'postgres'], { DATABASE_URL: url });
    const ok = await run(['health'], { DATABASE_URL: url });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/mongodb\s+not_configured/);
    expect(ok.stdout).toMatch(/elastic\s+not_configured/);
    const port = await freePort();
    const down = await run(['health', '--json'], {
      DATABASE_URL: url,
      MONGO_URL: `mongodb://127.0.0.1:${port}/?directConnection=true`,
      MONGO_SERVER_SELECTION_TIMEOUT_MS: '300',
    });
    expect(down.code).toBe(1);
    const health = JSON.parse(down.stdout);
    expect(health.status).toBe('degraded');
    expect(health.checks.mongodb.status).toBe('down');
  });
});
