/**
 * The Kibana container's healthcheck, run by a real shell and curl against a scripted
 * /api/status that answers as Kibana does (test/support/kibana-status.ts, after elastic/kibana
 * routes/status.ts): healthy with a degraded plugin, unhealthy until core is available.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, expect, it } from 'vitest';
import { KIBANA_HEALTHCHECK } from '../../infra/kibana.js';
import { kibanaStatus, startKibanaStatus } from '../support/kibana-status.js';

const kibana = await startKibanaStatus();
afterAll(() => kibana.close());

/** The check's exit code, with the scripted server standing in for 127.0.0.1:5601. */
const check = () =>
  promisify(execFile)('/bin/sh', [
    '-c',
    KIBANA_HEALTHCHECK.replace('http://127.0.0.1:5601', kibana.url),
  ]).then(
    () => 0,
    (error: { code: number }) => error.code,
  );

it.each([
  ['everything available', kibanaStatus({}), 0],
  ['a degraded plugin (Kibana usable)', kibanaStatus({ plugins: { fleet: 'degraded' } }), 0],
  ['Elasticsearch yellow', kibanaStatus({ elasticsearch: 'degraded' }), 0],
  ['saved objects migrating', kibanaStatus({ savedObjects: 'unavailable' }), 22],
  ['no login to Elasticsearch', kibanaStatus({ elasticsearch: 'critical' }), 22],
])('%s: exit %i', async (_what, answer, code) => {
  kibana.answer(answer);
  expect(await check()).toBe(code);
});
