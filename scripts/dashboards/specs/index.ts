/**
 * Nova's data views and dashboards: the source of dashboards/*.ndjson (`npm run dashboards`
 * writes them; test/unit/dashboards.test.ts fails when they differ). One module a dashboard,
 * named like its file.
 */
import { apiUsage } from './api-usage.js';
import { auditActivity } from './audit-activity.js';
import type { NovaDashboard } from './common.js';
import { errors } from './errors.js';
import { searchAnalytics } from './search-analytics.js';
import { serviceHealth } from './service-health.js';

export { DATA_VIEWS, LOGS_VIEW, type NovaDashboard } from './common.js';

export const DASHBOARDS: NovaDashboard[] = [
  serviceHealth,
  apiUsage,
  searchAnalytics,
  errors,
  auditActivity,
];
