import { Client } from '@elastic/elasticsearch';
import MockModule from '@elastic/elasticsearch-mock';
import { describe, expect, it } from 'vitest';
import { freePort } from '../../../src/bootstrap/postgres/embedded.js';
import { loadConfig } from '../../../src/config.js';
import { ElasticStore } from '../../../src/lib/db/elastic.js';

const Mock = MockModule as unknown as typeof MockModule.default;

function storeWith(colour: string) {
  const mock = new Mock();
  mock.add({ method: 'GET', path: '/_cluster/health' }, () => ({
    cluster_name: 'nova',
    status: colour,
    number_of_nodes: 3,
    number_of_data_nodes: 3,
    active_shards: 12,
    unassigned_shards: colour === 'green' ? 0 : 4,
  }));
  mock.add({ method: 'GET', path: '/' }, () => ({ version: { number: '8.11.4' } }));
  const config = loadConfig({ ELASTIC_URL: 'http://127.0.0.1:9200' }).elastic;
  if (!config) throw new Error('config');
  return new ElasticStore(
    config,
    new Client({ node: 'http://127.0.0.1:9200', Connection: mock.getConnection() }),
  );
}

describe('ElasticStore.health', () => {
  it.each([
    ['green', 'up'],
    ['yellow', 'degraded'],
    ['red', 'down'],
  ])('a %s cluster is %s, with node and shard counts', async (colour, status) => {
    const health = await storeWith(colour).health();
    expect(health).toMatchObject({
      status,
      cluster: {
        name: 'nova',
        colour,
        nodes: 3,
        dataNodes: 3,
        activeShards: 12,
        version: '8.11.4',
      },
    });
    expect(health.latencyMs).toBeGreaterThanOrEqual(0);
  });

  it('is down with the reason when nothing answers (a closed port on 127.0.0.1)', async () => {
    const port = await freePort();
    const config = loadConfig({
      ELASTIC_URL: `http://127.0.0.1:${port}`,
      ELASTIC_REQUEST_TIMEOUT_MS: '1000',
    }).elastic;
    if (!config) throw new Error('config');
    const store = new ElasticStore(config);
    try {
      const health = await store.health();
      expect(health.status).toBe('down');
      expect(health.error).toMatch(/ConnectionError|ECONNREFUSED/);
    } finally {
      await store.close();
    }
  });
});
