/**
 * How legacy values become ours: a default table for each, which `--map FILE` (JSON) extends
 * or overrides:
 *
 *   {
 *     "priority": { "P1": "urgent", "sev-2": "high" },
 *     "roles":    { "helpdesk": "agent", "auditor": "viewer" },
 *     "category": { "VPN": "Network" }
 *   }
 *
 * Keys are matched ignoring case and surrounding spaces. A legacy urgency or role no table
 * names is refused (its row is reported), never guessed; a category with no entry is kept as
 * it was written.
 */
import { readFileSync } from 'node:fs';
import { z } from 'zod';
import type { LegacyTicket } from '../../lib/db/postgres/legacy-import.js';
import { NovaError } from '../../lib/errors.js';

type Priority = LegacyTicket['priority'];

/** Legacy urgency → ticket priority. */
export const DEFAULT_PRIORITIES: Record<string, Priority> = {
  low: 'low',
  minor: 'low',
  medium: 'medium',
  normal: 'medium',
  moderate: 'medium',
  high: 'high',
  major: 'high',
  urgent: 'urgent',
  critical: 'urgent',
  emergency: 'urgent',
};

/** Legacy role name → one of the new platform's default roles. */
export const DEFAULT_ROLES: Record<string, string> = {
  admin: 'admin',
  administrator: 'admin',
  superadmin: 'admin',
  'super admin': 'admin',
  agent: 'agent',
  tech: 'agent',
  technician: 'agent',
  support: 'agent',
  helpdesk: 'agent',
  user: 'viewer',
  viewer: 'viewer',
  readonly: 'viewer',
  'read-only': 'viewer',
};

export interface Mapping {
  priority: Record<string, Priority>;
  roles: Record<string, string>;
  category: Record<string, string>;
}

const key = (value: string) => value.trim().toLowerCase();
const normalized = <T>(table: Record<string, T>) =>
  Object.fromEntries(Object.entries(table).map(([k, v]) => [key(k), v]));

const mapFile = z.strictObject({
  priority: z.record(z.string(), z.enum(['low', 'medium', 'high', 'urgent'])).optional(),
  roles: z.record(z.string(), z.string().min(1)).optional(),
  category: z.record(z.string(), z.string().trim().min(1).max(100)).optional(),
});

/** The defaults, with `--map FILE`'s entries over them. */
export function loadMapping(file?: string): Mapping {
  let extra: z.infer<typeof mapFile> = {};
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new NovaError('VALIDATION_FAILED', `--map: cannot read ${file}`, {
        field: 'map',
        cause: error,
      });
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new NovaError('VALIDATION_FAILED', `--map: ${file} is not JSON`, {
        field: 'map',
        cause: error,
      });
    }
    const result = mapFile.safeParse(parsed);
    if (!result.success) {
      const issue = result.error.issues[0];
      const field = ['map', ...(issue?.path ?? [])].join('.');
      throw new NovaError('VALIDATION_FAILED', `${field}: ${issue?.message}`, { field });
    }
    extra = result.data;
  }
  return {
    priority: { ...DEFAULT_PRIORITIES, ...normalized(extra.priority ?? {}) },
    roles: { ...DEFAULT_ROLES, ...normalized(extra.roles ?? {}) },
    category: normalized(extra.category ?? {}),
  };
}

export const lookup = <T>(table: Record<string, T>, value: string): T | undefined =>
  table[key(value)];
