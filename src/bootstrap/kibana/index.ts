/**
 * `nova bootstrap kibana`: the saved objects in dashboards/ into Kibana, and the default data
 * view. The same shape as the other stores' bootstraps: wait (bounded) until Kibana reports
 * `available`, read what it holds, plan, apply only the difference, read again.
 *
 * Kibana's import cannot tell a changed object from an unchanged one (with overwrite it
 * rewrites both), so the plan compares first (`_bulk_get`) and imports only objects Kibana
 * lacks or holds differently: a second run changes nothing and says so. After importing, an
 * object Kibana still holds differently (it migrated it on import) is a warning, not an error:
 * it is in Kibana as Kibana wants it, and the next run imports it again, harmlessly.
 */
import type { KibanaConfig, NovaConfig } from '../../config.js';
import { NovaError } from '../../lib/errors.js';
import { formatPlanReport } from '../report.js';
import {
  importSavedObjects,
  type KibanaCallOptions,
  readDefaultDataView,
  readSavedObjects,
  setDefaultDataView,
} from './api.js';
import {
  type KibanaPlan,
  type KibanaState,
  type KibanaStep,
  type ObjectAction,
  type ObjectStatus,
  planKibana,
} from './plan.js';
import {
  DEFAULT_DASHBOARDS_DIR,
  loadSavedObjects,
  type SavedObjectsFile,
} from './saved-objects.js';
import { type WaitOptions, waitForKibana } from './wait.js';

/** The data view Kibana opens by default: nova_logs, defined in dashboards/. */
export const DEFAULT_DATA_VIEW_ID = 'nova-logs';

/** Which configured identity talks to Kibana (never the secret itself). */
export type KibanaCredentials =
  | 'KIBANA_API_KEY'
  | 'KIBANA_USERNAME'
  | 'ELASTIC_ADMIN_USERNAME'
  | 'none';

export interface KibanaBootstrapOptions {
  dryRun?: boolean;
  /** How long to wait for Kibana to report available (default 60 s). */
  waitMs?: number;
  /** The saved objects folder (default: dashboards/ of this package). */
  dir?: string;
  /** Default: `nova-logs`; must be an index-pattern in `dir`. */
  defaultDataViewId?: string;
  /** Polling and retry timing, for tests. */
  waitOptions?: Omit<WaitOptions, 'waitMs'>;
  callOptions?: KibanaCallOptions;
}

export interface KibanaBootstrapReport {
  url: string;
  version: string | undefined;
  credentials: KibanaCredentials;
  dryRun: boolean;
  /** Every file with its objects and what the plan does with each. */
  files: { file: string; objects: Omit<ObjectStatus, 'file'>[] }[];
  steps: { kind: KibanaStep['kind']; description: string }[];
  /** What Kibana said it did (after applying): objects new to it and objects overwritten. */
  imported: { created: number; overwritten: number } | undefined;
  warnings: string[];
  changed: boolean;
}

/**
 * KIBANA_USERNAME/PASSWORD or KIBANA_API_KEY when set; otherwise the Elasticsearch
 * administrator (ELASTIC_ADMIN_*, the `elastic` superuser in our stack), which Kibana accepts
 * for its API (only kibana.yml's own connection refuses it); otherwise anonymous.
 */
export function bootstrapCredentials(config: NovaConfig): {
  kibana: KibanaConfig;
  credentials: KibanaCredentials;
} {
  const kibana = config.kibana as KibanaConfig;
  if (kibana.apiKey) return { kibana, credentials: 'KIBANA_API_KEY' };
  if (kibana.username) return { kibana, credentials: 'KIBANA_USERNAME' };
  const admin = config.elastic?.admin;
  if (admin) {
    return {
      kibana: { ...kibana, username: admin.username, password: admin.password },
      credentials: 'ELASTIC_ADMIN_USERNAME',
    };
  }
  return { kibana, credentials: 'none' };
}

function requireDefaultDataView(files: SavedObjectsFile[], id: string): void {
  const found = files.some((f) =>
    f.objects.some((o) => o.object.type === 'index-pattern' && o.object.id === id),
  );
  if (!found) {
    throw new NovaError(
      'BOOTSTRAP_FAILED',
      `the default data view ${id} is not among the saved objects (an index-pattern with that id)`,
    );
  }
}

async function readState(
  kibana: KibanaConfig,
  files: SavedObjectsFile[],
  call: KibanaCallOptions,
): Promise<KibanaState> {
  const objects = files.flatMap((f) => f.objects.map((o) => o.object));
  return {
    objects: await readSavedObjects(kibana, objects, call),
    defaultDataView: await readDefaultDataView(kibana, call),
  };
}

export async function bootstrapKibana(
  config: NovaConfig,
  {
    dryRun = false,
    waitMs = 60_000,
    dir = DEFAULT_DASHBOARDS_DIR,
    defaultDataViewId = DEFAULT_DATA_VIEW_ID,
    waitOptions = {},
    callOptions = {},
  }: KibanaBootstrapOptions = {},
): Promise<KibanaBootstrapReport> {
  if (!config.kibana) {
    throw new NovaError('CONFIG_INVALID', 'KIBANA_URL is required to bootstrap Kibana', {
      field: 'KIBANA_URL',
    });
  }
  // The files first: a broken file fails at once, not after waiting for Kibana.
  const files = loadSavedObjects(dir);
  requireDefaultDataView(files, defaultDataViewId);
  const { kibana, credentials } = bootstrapCredentials(config);
  try {
    const health = await waitForKibana(kibana, { ...waitOptions, waitMs });
    const planned = planKibana(
      files,
      await readState(kibana, files, callOptions),
      defaultDataViewId,
    );
    const report = (imported: KibanaBootstrapReport['imported'], warnings: string[]) => ({
      url: kibana.url,
      version: health.version,
      credentials,
      dryRun,
      files: filesReport(files, planned),
      steps: planned.steps.map(({ kind, description }) => ({ kind, description })),
      imported,
      warnings: [
        ...(health.degradedPlugins
          ? [
              `Kibana is degraded (${health.degradedPlugins.join(', ')}); its saved objects are available`,
            ]
          : []),
        ...planned.warnings,
        ...warnings,
      ],
      changed: imported !== undefined,
    });
    if (dryRun || planned.steps.length === 0) return report(undefined, []);
    const { imported, warnings } = await apply(kibana, planned.steps, callOptions);
    const left = planKibana(files, await readState(kibana, files, callOptions), defaultDataViewId);
    if (left.steps.some((s) => s.kind === 'setDefaultDataView')) {
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `Kibana's default data view is still not ${defaultDataViewId} after setting it`,
      );
    }
    const migrated = left.objects.filter((o) => o.action !== 'unchanged');
    if (left.warnings.length === 0 && migrated.length > 0) {
      warnings.push(
        `Kibana holds ${migrated.length} object(s) differently from the files after importing them ` +
          `(it migrated them): ${migrated.map((o) => `${o.type} ${o.id} (${o.difference})`).join(', ')}; ` +
          'each run imports them again: export them from this Kibana into dashboards/ to stop it',
      );
    }
    return report(imported, warnings);
  } catch (error) {
    if (error instanceof NovaError) throw error;
    throw new NovaError('BOOTSTRAP_FAILED', `Kibana bootstrap failed: ${String(error)}`, {
      cause: error,
    });
  }
}

async function apply(kibana: KibanaConfig, steps: KibanaStep[], call: KibanaCallOptions) {
  const objects = steps.flatMap((s) => (s.kind === 'importObject' ? [s.object] : []));
  const warnings: string[] = [];
  let imported = { created: 0, overwritten: 0 };
  if (objects.length > 0) {
    const result = await importSavedObjects(kibana, objects, call);
    imported = { created: result.created, overwritten: result.overwritten };
    warnings.push(...result.warnings);
  }
  for (const step of steps) {
    if (step.kind === 'setDefaultDataView') await setDefaultDataView(kibana, step.dataViewId, call);
  }
  return { imported, warnings };
}

function filesReport(files: SavedObjectsFile[], planned: KibanaPlan) {
  let index = 0;
  return files.map(({ file, objects }) => ({
    file,
    objects: objects.map(() => {
      const { file: _file, ...status } = planned.objects[index++] as ObjectStatus;
      return status;
    }),
  }));
}

const ACTION_WORDS: Record<ObjectAction, [planned: string, done: string]> = {
  create: ['to create', 'created'],
  update: ['to update', 'updated'],
  import: ['to import', 'imported'],
  unchanged: ['unchanged', 'unchanged'],
};

/** The text form: the plan (or what was applied), a count by action, and on a dry run every object. */
export function formatKibanaReport(report: KibanaBootstrapReport): string {
  const title = `Kibana ${report.url} (${report.version ? `${report.version}, ` : ''}credentials: ${report.credentials})`;
  const objects = report.files.flatMap((f) => f.objects);
  const counts = (Object.keys(ACTION_WORDS) as ObjectAction[])
    .map((action) => [action, objects.filter((o) => o.action === action).length] as const)
    .filter(([, n]) => n > 0)
    .map(([action, n]) => `${n} ${ACTION_WORDS[action][report.changed ? 1 : 0]}`);
  const lines = [
    formatPlanReport(title, report),
    `  saved objects: ${objects.length} in ${report.files.length} file(s): ${counts.join(', ')}`,
  ];
  if (report.dryRun) {
    const width = (pick: (o: (typeof objects)[number]) => string) =>
      Math.max(...objects.map((o) => pick(o).length));
    const [typeWidth, idWidth] = [width((o) => o.type), width((o) => o.id)];
    for (const { file, objects: listed } of report.files) {
      lines.push(`  ${file}:`);
      for (const o of listed) {
        lines.push(
          `    ${o.type.padEnd(typeWidth)}  ${o.id.padEnd(idWidth)}  ${ACTION_WORDS[o.action][0].padEnd(9)}  ${o.title}`.trimEnd(),
        );
      }
    }
  }
  return lines.join('\n');
}
