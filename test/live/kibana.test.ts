/**
 * The live Kibana check: runs when KIBANA_URL points at a running Kibana 8 (with
 * KIBANA_USERNAME/KIBANA_PASSWORD or KIBANA_API_KEY when it asks for credentials; the
 * bootstrap also takes ELASTIC_ADMIN_* with ELASTIC_URL). It imports dashboards/ twice: the
 * second run must report no error and change nothing. It writes into the default space of that
 * Kibana: point it at a disposable one. Without KIBANA_URL it is reported as skipped, with the
 * reason in its name and on stderr:
 *
 *   KIBANA_URL=http://127.0.0.1:5601 KIBANA_USERNAME=elastic KIBANA_PASSWORD=... npx vitest run test/live/kibana.test.ts
 */
import { describe, expect, it } from 'vitest';
import {
  bootstrapCredentials,
  bootstrapKibana,
  DEFAULT_DATA_VIEW_ID,
  formatKibanaReport,
} from '../../src/bootstrap/kibana/index.js';
import { type KibanaConfig, loadConfig } from '../../src/config.js';
import { kibanaHealth, kibanaRequest } from '../../src/lib/kibana.js';

const url = process.env.KIBANA_URL;
const SKIP_REASON = 'KIBANA_URL is not set';
if (!url) process.stderr.write(`\n[live] Kibana suite SKIPPED: ${SKIP_REASON}\n\n`);

describe.skipIf(!url)(
  `Kibana live suite (${url ? 'KIBANA_URL set' : `skipped: ${SKIP_REASON}`})`,
  () => {
    it('reads /api/status: available, with its version', async () => {
      const config = loadConfig().kibana as KibanaConfig;
      const health = await kibanaHealth(config);
      expect(health, health.error).toMatchObject({ status: 'up', level: 'available' });
      expect(health.version ?? '8').toMatch(/^8\./);
    });

    it('bootstrap kibana imports dashboards/; a second run reports no error and changes nothing', {
      timeout: 300_000,
    }, async () => {
      const config = loadConfig();
      const first = await bootstrapKibana(config, { waitMs: 120_000 });
      process.stderr.write(`[live] first run:\n${formatKibanaReport(first)}\n`);
      const second = await bootstrapKibana(config, { waitMs: 120_000 });
      process.stderr.write(`[live] second run:\n${formatKibanaReport(second)}\n`);
      expect(second.steps, formatKibanaReport(second)).toEqual([]);
      expect(second.warnings).toEqual([]);
      expect(second.changed).toBe(false);
      const { kibana } = bootstrapCredentials(config);
      const reply = await kibanaRequest(kibana, { method: 'GET', path: '/api/data_views/default' });
      expect(JSON.parse(reply.body)).toMatchObject({ data_view_id: DEFAULT_DATA_VIEW_ID });
    });
  },
);
