/**
 * The Elasticsearch store, `novaDb.elastic`: one client and cluster health. Search
 * (./elastic/search.ts), the outbox indexer and reindexing build on its client.
 */
import type { Client } from '@elastic/elasticsearch';
import type { ElasticConfig } from '../../config.js';
import { createElasticClient, describeElasticError } from './elastic/client.js';

export interface ElasticHealth {
  /** green: up; yellow (a replica unassigned): degraded; red or unreachable: down. */
  status: 'up' | 'degraded' | 'down';
  latencyMs: number;
  cluster?: {
    name: string;
    colour: 'green' | 'yellow' | 'red';
    nodes: number;
    dataNodes: number;
    activeShards: number;
    unassignedShards: number;
    version: string;
  };
  error?: string;
}

export class ElasticStore {
  readonly client: Client;
  readonly config: ElasticConfig;

  constructor(config: ElasticConfig, client?: Client) {
    this.config = config;
    this.client = client ?? createElasticClient(config);
  }

  readonly health = async (): Promise<ElasticHealth> => {
    const started = performance.now();
    try {
      const [health, info] = await Promise.all([this.client.cluster.health(), this.client.info()]);
      const colour = String(health.status).toLowerCase() as 'green' | 'yellow' | 'red';
      return {
        status: colour === 'green' ? 'up' : colour === 'yellow' ? 'degraded' : 'down',
        latencyMs: Math.round(performance.now() - started),
        cluster: {
          name: health.cluster_name,
          colour,
          nodes: health.number_of_nodes,
          dataNodes: health.number_of_data_nodes,
          activeShards: health.active_shards,
          unassignedShards: health.unassigned_shards,
          version: info.version.number,
        },
      };
    } catch (error) {
      return {
        status: 'down',
        latencyMs: Math.round(performance.now() - started),
        error: describeElasticError(error),
      };
    }
  };

  readonly close = (): Promise<void> => this.client.close();
}
