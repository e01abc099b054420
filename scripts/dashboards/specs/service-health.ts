/** Nova: Service health and performance: is the service healthy, fast, and are its dependencies up? */
import { col } from '../lens.js';
import { dataset, latency, type NovaDashboard } from './common.js';

export const serviceHealth: NovaDashboard = {
  file: 'service-health',
  id: 'nova-dashboard-service-health',
  title: 'Nova: Service health and performance',
  description: 'Is the service healthy? Request rate, error rate, latency, dependencies.',
  timeFrom: 'now-24h',
  panels: [
    {
      w: 24,
      h: 12,
      lens: {
        id: 'nova-lens-service-request-rate',
        title: 'Requests per minute',
        description: 'performance_metrics events per minute, by service.name.',
        query: dataset('performance_metrics'),
        columns: {
          time: col.time(),
          service: col.terms('service.name', 'Service', 5),
          rate: col.count('Requests per minute', { perMinute: true }),
        },
        visualization: { type: 'xy', series: 'line', x: 'time', y: ['rate'], split: 'service' },
      },
    },
    {
      w: 24,
      h: 12,
      lens: {
        id: 'nova-lens-service-error-rate',
        title: 'Error rate',
        description:
          'Share of performance_metrics events by event.outcome (failure: 5xx or failed).',
        query: dataset('performance_metrics'),
        columns: {
          time: col.time(),
          outcome: col.terms('event.outcome', 'Outcome', 3),
          requests: col.count('Requests'),
        },
        visualization: {
          type: 'xy',
          series: 'bar_percentage_stacked',
          x: 'time',
          y: ['requests'],
          split: 'outcome',
        },
      },
    },
    {
      w: 24,
      h: 12,
      lens: latency('nova-lens-service-latency', 'Latency p50 / p95 / p99', 'performance_metrics'),
    },
    {
      w: 24,
      h: 12,
      lens: {
        id: 'nova-lens-service-dependency-status',
        title: 'Dependency status changes',
        description:
          'system_logs dependency_up / dependency_degraded / dependency_down events, by dependency (entity.id).',
        query: dataset('system_logs', 'entity.type: dependency'),
        columns: {
          time: col.time(),
          dependency: col.terms('entity.id', 'Dependency and status', 20, {
            secondaryFields: ['event.action'],
          }),
          changes: col.count('Status changes'),
        },
        visualization: {
          type: 'xy',
          series: 'bar_stacked',
          x: 'time',
          y: ['changes'],
          split: 'dependency',
        },
      },
    },
    {
      w: 48,
      h: 15,
      lens: {
        id: 'nova-lens-service-latency-by-endpoint',
        title: 'Latency by endpoint',
        description: 'The 20 busiest endpoints (url.path), slowest p95 first.',
        query: dataset('performance_metrics'),
        columns: {
          endpoint: col.terms('url.path', 'Endpoint', 20, { orderBy: 'requests' }),
          requests: col.count('Requests'),
          p50: col.percentile('event.duration', 50),
          p95: col.percentile('event.duration', 95),
          p99: col.percentile('event.duration', 99),
        },
        visualization: { type: 'table', sortBy: 'p95' },
      },
    },
  ],
};
