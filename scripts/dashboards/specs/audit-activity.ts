/** Nova: Audit activity: who did what to which kind of entity. */
import { col } from '../lens.js';
import { dataset, type NovaDashboard, type Panel } from './common.js';

export const auditActivity: NovaDashboard = {
  file: 'audit-activity',
  id: 'nova-dashboard-audit-activity',
  title: 'Nova: Audit activity',
  description: 'Who did what to which kind of entity.',
  timeFrom: 'now-7d',
  panels: [
    {
      w: 48,
      h: 12,
      lens: {
        id: 'nova-lens-audit-actions-over-time',
        title: 'Audit actions over time',
        description: 'audit_logs events by event.action.',
        query: dataset('audit_logs'),
        columns: {
          time: col.time(),
          action: col.terms('event.action', 'Action', 10),
          actions: col.count('Actions'),
        },
        visualization: {
          type: 'xy',
          series: 'bar_stacked',
          x: 'time',
          y: ['actions'],
          split: 'action',
        },
      },
    },
    ...(
      [
        ['actor', 'user.id', 'Actor (user.id)', 'Actions by actor'],
        ['entity-type', 'entity.type', 'Entity type', 'Actions by entity type'],
      ] as const
    ).map(
      ([slug, field, label, title]): Panel => ({
        w: 24,
        h: 15,
        lens: {
          id: `nova-lens-audit-actions-by-${slug}`,
          title,
          description: `audit_logs events by ${field} and event.action.`,
          query: dataset('audit_logs'),
          columns: {
            by: col.terms(field, label, 15),
            action: col.terms('event.action', 'Action', 10),
            actions: col.count('Actions'),
          },
          visualization: {
            type: 'xy',
            series: 'bar_horizontal_stacked',
            x: 'by',
            y: ['actions'],
            split: 'action',
          },
        },
      }),
    ),
    {
      w: 48,
      h: 18,
      search: {
        id: 'nova-search-audit-latest',
        title: 'Latest audit events',
        description: 'audit_logs events, newest first.',
        query: dataset('audit_logs'),
        columns: ['user.id', 'event.action', 'entity.type', 'entity.id', 'trace.id'],
        sortField: '@timestamp',
      },
    },
  ],
};
