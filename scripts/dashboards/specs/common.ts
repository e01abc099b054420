/**
 * What every Nova dashboard spec shares: the data views, the KQL of a telemetry collection,
 * and the shape of a dashboard (dashboards/<file>.ndjson). Every panel reads the nova_logs data
 * stream, one collection at a time (`event.dataset`), through the ECS fields the telemetry
 * writer ships (src/lib/db/elastic/ecs.ts; dashboards/README.md lists them per collection).
 */
import { LOGS_DATA_STREAM, SEARCH_INDICES } from '../../../src/lib/db/elastic/index-specs.js';
import type { TelemetryCollection } from '../../../src/lib/telemetry/collections.js';
import { col, type LensSpec } from '../lens.js';
import type { DataViewSpec, SearchSpec } from '../objects.js';

export const LOGS_VIEW = 'nova-logs';

export const DATA_VIEWS: DataViewSpec[] = [
  {
    id: LOGS_VIEW,
    title: LOGS_DATA_STREAM,
    name: 'Nova logs',
    timeFieldName: '@timestamp',
    fieldFormats: {
      // ECS durations are nanoseconds; people read milliseconds.
      'event.duration': {
        id: 'duration',
        params: { inputFormat: 'nanoseconds', outputFormat: 'asMilliseconds', outputPrecision: 1 },
      },
    },
  },
  {
    id: 'nova-tickets',
    title: SEARCH_INDICES.tickets,
    name: 'Nova tickets',
    timeFieldName: 'created_at',
  },
  {
    id: 'nova-kb',
    title: SEARCH_INDICES.kb,
    name: 'Nova knowledge base',
    timeFieldName: 'created_at',
  },
];

/** KQL selecting one telemetry collection. */
export const dataset = (collection: TelemetryCollection, more?: string) =>
  `event.dataset: ${collection}${more ? ` and ${more}` : ''}`;

/** A line chart of the p50, p95 and p99 of event.duration of one collection. */
export const latency = (id: string, title: string, collection: TelemetryCollection): LensSpec => ({
  id,
  title,
  description: `Percentiles of event.duration (${collection}).`,
  query: dataset(collection),
  columns: {
    time: col.time(),
    p50: col.percentile('event.duration', 50),
    p95: col.percentile('event.duration', 95),
    p99: col.percentile('event.duration', 99),
  },
  visualization: { type: 'xy', series: 'line', x: 'time', y: ['p50', 'p95', 'p99'] },
});

/** A dashboard panel: its size on the grid and the object it shows. */
export type Panel = { w: number; h: number } & ({ lens: LensSpec } | { search: SearchSpec });

export interface NovaDashboard {
  /** dashboards/<file>.ndjson */
  file: string;
  id: string;
  title: string;
  description: string;
  timeFrom: string;
  panels: Panel[];
}
