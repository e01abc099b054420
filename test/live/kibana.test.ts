/**
 * The live Kibana check: runs when KIBANA_URL points at a running Kibana 8 (with
 * KIBANA_USERNAME/KIBANA_PASSWORD or KIBANA_API_KEY when it asks for credentials). Without
 * KIBANA_URL it is reported as skipped, with the reason in its name and on stderr:
 *
 *   KIBANA_URL=http://127.0.0.1:5601 KIBANA_USERNAME=elastic KIBANA_PASSWORD=... npx vitest run test/live/kibana.test.ts
 */
import { describe, expect, it } from 'vitest';
import { type KibanaConfig, loadConfig } from '../../src/config.js';
import { kibanaHealth } from '../../src/lib/kibana.js';

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
  },
);
