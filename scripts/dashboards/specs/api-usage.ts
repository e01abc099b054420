/** Nova: API usage: which endpoints, which answers, which callers. */
import { col } from '../lens.js';
import { dataset, type NovaDashboard } from './common.js';

export const apiUsage: NovaDashboard = {
  file: 'api-usage',
  id: 'nova-dashboard-api-usage',
  title: 'Nova: API usage',
  description: 'Who calls which endpoints, and with what answers.',
  timeFrom: 'now-24h',
  panels: [
    {
      w: 24,
      h: 15,
      lens: {
        id: 'nova-lens-api-top-endpoints',
        title: 'Top endpoints',
        description: 'api_usage events by url.path (route template) and method.',
        query: dataset('api_usage'),
        columns: {
          endpoint: col.terms('url.path', 'Endpoint', 15),
          method: col.terms('http.request.method', 'Method', 6),
          requests: col.count('Requests'),
        },
        visualization: {
          type: 'xy',
          series: 'bar_horizontal_stacked',
          x: 'endpoint',
          y: ['requests'],
          split: 'method',
        },
      },
    },
    {
      w: 24,
      h: 15,
      lens: {
        id: 'nova-lens-api-top-callers',
        title: 'Top callers',
        description: 'api_usage events by user.id (authenticated callers only).',
        query: dataset('api_usage'),
        columns: {
          caller: col.terms('user.id', 'Caller (user.id)', 15),
          requests: col.count('Requests'),
          endpoints: col.unique('url.path', 'Distinct endpoints'),
          p95: col.percentile('event.duration', 95, 'Latency p95'),
        },
        visualization: { type: 'table', sortBy: 'requests' },
      },
    },
    {
      w: 24,
      h: 12,
      lens: {
        id: 'nova-lens-api-status-codes',
        title: 'Status codes',
        description: 'api_usage events by http.response.status_code.',
        query: dataset('api_usage'),
        columns: {
          time: col.time(),
          status: col.terms('http.response.status_code', 'Status code', 10, { dataType: 'number' }),
          responses: col.count('Responses'),
        },
        visualization: {
          type: 'xy',
          series: 'bar_stacked',
          x: 'time',
          y: ['responses'],
          split: 'status',
        },
      },
    },
    {
      w: 24,
      h: 12,
      lens: {
        id: 'nova-lens-api-status-classes',
        title: 'Status classes',
        description: 'Share of api_usage responses that were 2xx/3xx, 4xx and 5xx.',
        query: dataset('api_usage'),
        columns: {
          time: col.time(),
          class: col.filters('Status class', [
            { label: '2xx/3xx', kql: 'http.response.status_code < 400' },
            {
              label: '4xx',
              kql: 'http.response.status_code >= 400 and http.response.status_code < 500',
            },
            { label: '5xx', kql: 'http.response.status_code >= 500' },
          ]),
          responses: col.count('Responses'),
        },
        visualization: {
          type: 'xy',
          series: 'bar_percentage_stacked',
          x: 'time',
          y: ['responses'],
          split: 'class',
        },
      },
    },
  ],
};
