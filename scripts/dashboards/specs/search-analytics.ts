/** Nova: Search analytics: volume, top and zero-result queries, latency. */
import { col } from '../lens.js';
import { dataset, latency, type NovaDashboard } from './common.js';

export const searchAnalytics: NovaDashboard = {
  file: 'search-analytics',
  id: 'nova-dashboard-search-analytics',
  title: 'Nova: Search analytics',
  description: 'What people search for, what finds nothing, and how fast search answers.',
  timeFrom: 'now-7d',
  panels: [
    {
      w: 24,
      h: 12,
      lens: {
        id: 'nova-lens-search-volume',
        title: 'Search volume',
        description: 'search_analytics events per minute, by search.scope (tickets, kb).',
        query: dataset('search_analytics'),
        columns: {
          time: col.time(),
          scope: col.terms('search.scope', 'Scope', 5),
          rate: col.count('Searches per minute', { perMinute: true }),
        },
        visualization: {
          type: 'xy',
          series: 'bar_stacked',
          x: 'time',
          y: ['rate'],
          split: 'scope',
        },
      },
    },
    {
      w: 24,
      h: 12,
      lens: latency(
        'nova-lens-search-latency',
        'Search latency p50 / p95 / p99',
        'search_analytics',
      ),
    },
    {
      w: 24,
      h: 15,
      lens: {
        id: 'nova-lens-search-top-queries',
        title: 'Top queries',
        description: 'Most frequent search.query (normalised: trimmed, lower case).',
        query: dataset('search_analytics'),
        columns: {
          query: col.terms('search.query', 'Query', 20),
          searches: col.count('Searches'),
          results: col.average('search.result_count', 'Average results'),
        },
        visualization: { type: 'table', sortBy: 'searches' },
      },
    },
    {
      w: 24,
      h: 15,
      lens: {
        id: 'nova-lens-search-zero-result-queries',
        title: 'Zero-result queries',
        description: 'Queries that found nothing: content to write or synonyms to add.',
        query: dataset('search_analytics', 'search.result_count: 0'),
        columns: {
          query: col.terms('search.query', 'Query', 20),
          scope: col.terms('search.scope', 'Scope', 2),
          searches: col.count('Searches'),
        },
        visualization: { type: 'table', sortBy: 'searches' },
      },
    },
  ],
};
