/** Nova: Errors: how many, of which kinds, and the latest in full. */
import { col } from '../lens.js';
import { dataset, type NovaDashboard } from './common.js';

export const errors: NovaDashboard = {
  file: 'errors',
  id: 'nova-dashboard-errors',
  title: 'Nova: Errors',
  description: 'How many errors, of which kinds, and the latest ones in full.',
  timeFrom: 'now-24h',
  panels: [
    {
      w: 12,
      h: 12,
      lens: {
        id: 'nova-lens-errors-total',
        title: 'Errors',
        description: 'error_logs events in the time range.',
        query: dataset('error_logs'),
        columns: { errors: col.count('Errors') },
        visualization: { type: 'metric', metric: 'errors' },
      },
    },
    {
      w: 36,
      h: 12,
      lens: {
        id: 'nova-lens-errors-rate',
        title: 'Errors per minute',
        description: 'error_logs events per minute, by error.type.',
        query: dataset('error_logs'),
        columns: {
          time: col.time(),
          type: col.terms('error.type', 'Error type', 5),
          rate: col.count('Errors per minute', { perMinute: true }),
        },
        visualization: { type: 'xy', series: 'bar_stacked', x: 'time', y: ['rate'], split: 'type' },
      },
    },
    {
      w: 16,
      h: 18,
      lens: {
        id: 'nova-lens-errors-top-types',
        title: 'Top error types',
        description: 'error_logs events by error.type and error.code.',
        query: dataset('error_logs'),
        columns: {
          type: col.terms('error.type', 'Error type', 10),
          code: col.terms('error.code', 'Code', 5),
          errors: col.count('Errors'),
        },
        visualization: { type: 'table', sortBy: 'errors' },
      },
    },
    {
      w: 32,
      h: 18,
      search: {
        id: 'nova-search-errors-latest',
        title: 'Latest errors',
        description: 'error_logs events, newest first.',
        query: dataset('error_logs'),
        columns: [
          'service.name',
          'error.type',
          'error.code',
          'error.message',
          'user.id',
          'trace.id',
        ],
        sortField: '@timestamp',
      },
    },
  ],
};
