/**
 * The reconciliation plan: live state in, the smallest list of commands that makes it match
 * the specs out. Pure, so every case (missing collection, TTL changed, TTL already right,
 * index renamed, validator drifted, user missing or stale) is a unit test.
 *
 * Indexes are matched by key pattern first, as MongoDB does: an index with our keys but
 * another name already serves (creating ours would fail with IndexOptionsConflict), so only
 * its options are reconciled. A TTL change is a collMod, never a drop and rebuild. Only a
 * secondary index whose name we own but whose keys differ is dropped and recreated.
 */
import type { Document } from 'mongodb';
import { canonical } from '../../lib/canonical.js';
import type { CollectionSpec, IndexKey, IndexSpec } from '../../lib/db/mongo/collection-specs.js';
import { NovaError } from '../../lib/errors.js';
import {
  changeTtlCommand,
  createCollectionCommand,
  createIndexesCommand,
  createUserCommand,
  dropIndexCommand,
  type Role,
  setValidatorCommand,
  updateUserCommand,
} from './commands.js';

export interface LiveIndex {
  name: string;
  key: Record<string, unknown>;
  expireAfterSeconds?: number;
}

export interface LiveCollection {
  name: string;
  /** "collection", "view" or "timeseries". */
  type: string;
  options: Document;
  indexes: LiveIndex[];
}

export interface LiveUser {
  exists: boolean;
  roles: Role[];
  /** False when the configured password no longer authenticates. */
  passwordCurrent: boolean;
}

export interface MongoStep {
  /** What changes, in words: "change TTL of audit_logs.timestamp_ttl from 30d to 90d". */
  description: string;
  /** Database the command runs against. */
  database: string;
  command: Document;
}

export interface MongoPlan {
  steps: MongoStep[];
  warnings: string[];
}

/** Key patterns are ordered: { a: 1, b: 1 } and { b: 1, a: 1 } are different indexes. */
const sameKey = (live: Record<string, unknown>, wanted: IndexKey) => {
  const a = Object.entries(live);
  const b = Object.entries(wanted);
  return (
    a.length === b.length && a.every(([k, v], i) => k === b[i]?.[0] && Number(v) === b[i]?.[1])
  );
};

const describeKey = (key: Record<string, unknown>) =>
  Object.entries(key)
    .map(([k, v]) => `${k}:${v}`)
    .join(',');

const days = (seconds: number) => (seconds % 86_400 === 0 ? `${seconds / 86_400}d` : `${seconds}s`);

/** `name`, or `name_2`, `name_3`, ... : the first that no live or planned index uses. */
function freeName(name: string, taken: Set<string>): string {
  let candidate = name;
  for (let n = 2; taken.has(candidate); n++) candidate = `${name}_${n}`;
  taken.add(candidate);
  return candidate;
}

/** What the plan must know of the server, beyond the collections. */
export interface ServerFacts {
  /** A replica set (commitQuorum is refused by a standalone). */
  replicaSet: boolean;
}

function planIndexes(
  spec: CollectionSpec,
  live: LiveIndex[],
  database: string,
  plan: MongoPlan,
  server: ServerFacts,
) {
  const toCreate: IndexSpec[] = [];
  // Which live index serves which wanted one, by keys; an index serving one of ours is kept
  // even when its name belongs to another of ours (MongoDB cannot rename an index).
  const serving = new Map(
    spec.indexes.map((wanted) => [wanted, live.find((index) => sameKey(index.key, wanted.key))]),
  );
  const kept = new Set([...serving.values()].filter((index) => index !== undefined));
  const taken = new Set(live.map((index) => index.name));
  for (const wanted of spec.indexes) {
    const sameKeys = serving.get(wanted);
    if (sameKeys) {
      if (
        wanted.expireAfterSeconds !== undefined &&
        sameKeys.expireAfterSeconds !== wanted.expireAfterSeconds
      ) {
        const from =
          sameKeys.expireAfterSeconds === undefined ? 'none' : days(sameKeys.expireAfterSeconds);
        plan.steps.push({
          description: `change TTL of ${spec.name}.${sameKeys.name} from ${from} to ${days(wanted.expireAfterSeconds)}`,
          database,
          command: changeTtlCommand(spec.name, sameKeys.name, wanted.expireAfterSeconds),
        });
      }
      continue;
    }
    const sameName = live.find((index) => index.name === wanted.name);
    if (sameName && !kept.has(sameName)) {
      plan.steps.push({
        description: `drop index ${spec.name}.${wanted.name} (keys ${describeKey(sameName.key)}, wanted ${describeKey(wanted.key)})`,
        database,
        command: dropIndexCommand(spec.name, wanted.name),
      });
      taken.delete(wanted.name);
    }
    const name = freeName(wanted.name, taken);
    if (name !== wanted.name) {
      plan.warnings.push(
        `${spec.name}.${wanted.name} is the name of an index that serves another spec; creating ${describeKey(wanted.key)} as ${name}`,
      );
    }
    toCreate.push({ ...wanted, name });
  }
  if (toCreate.length > 0) {
    plan.steps.push({
      description: `create ${toCreate.length === 1 ? 'index' : 'indexes'} ${toCreate.map((i) => `${spec.name}.${i.name}`).join(', ')}`,
      database,
      command: createIndexesCommand(spec.name, toCreate, server),
    });
  }
  // A TTL index we do not own still deletes documents: say so, but leave it to its owner.
  for (const index of live) {
    const ours = spec.indexes.some((wanted) => sameKey(index.key, wanted.key));
    if (!ours && index.expireAfterSeconds !== undefined) {
      plan.warnings.push(
        `${spec.name}.${index.name} is a TTL index this tool does not manage (expires after ${days(index.expireAfterSeconds)}); documents may expire earlier than configured`,
      );
    }
  }
}

export function planCollections(
  specs: readonly CollectionSpec[],
  live: ReadonlyMap<string, LiveCollection>,
  database: string,
  server: ServerFacts = { replicaSet: false },
): MongoPlan {
  const plan: MongoPlan = { steps: [], warnings: [] };
  for (const spec of specs) {
    const current = live.get(spec.name);
    if (!current) {
      plan.steps.push({
        description: `create collection ${spec.name} with its validator`,
        database,
        command: createCollectionCommand(spec),
      });
      planIndexes(spec, [], database, plan, server);
      continue;
    }
    if (current.options.capped === true) {
      // TTL indexes are refused on capped collections ("TTL indexes are not supported for
      // capped collections", InvalidOptions 72).
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `${database}.${spec.name} is a capped collection, which cannot expire documents by TTL; rename or drop it`,
        { field: spec.name },
      );
    }
    if (current.type !== 'collection') {
      throw new NovaError(
        'BOOTSTRAP_FAILED',
        `${database}.${spec.name} exists but is a ${current.type}, not a collection; rename or drop it`,
        { field: spec.name },
      );
    }
    const { validator, validationLevel, validationAction } = current.options;
    if (
      canonical(validator) !== canonical(spec.validator) ||
      validationLevel !== spec.validationLevel ||
      (validationAction ?? 'error') !== spec.validationAction
    ) {
      plan.steps.push({
        description: `set the validator of ${spec.name}`,
        database,
        command: setValidatorCommand(spec),
      });
    }
    planIndexes(spec, current.indexes, database, plan, server);
  }
  return plan;
}

const roleKey = (r: Role) => `${r.role}@${r.db}`;

/** Least privilege: readWrite on the logs database, nothing else. */
export const appRoles = (logsDatabase: string): Role[] => [{ role: 'readWrite', db: logsDatabase }];

export function planAppUser(
  user: { name: string; password: string; database: string },
  wantedRoles: Role[],
  live: LiveUser,
): MongoStep[] {
  if (!live.exists) {
    return [
      {
        description: `create user ${user.name} in ${user.database} (${wantedRoles.map(roleKey).join(', ')})`,
        database: user.database,
        command: createUserCommand(user.name, user.password, wantedRoles),
      },
    ];
  }
  const have = live.roles.map(roleKey).sort().join(',');
  const want = wantedRoles.map(roleKey).sort().join(',');
  const change: { pwd?: string; roles?: Role[] } = {};
  const what: string[] = [];
  if (have !== want) {
    change.roles = wantedRoles;
    what.push(`roles ${have || 'none'} -> ${want}`);
  }
  if (!live.passwordCurrent) {
    change.pwd = user.password;
    what.push('password');
  }
  if (what.length === 0) return [];
  return [
    {
      description: `update user ${user.name} in ${user.database}: ${what.join(', ')}`,
      database: user.database,
      command: updateUserCommand(user.name, change),
    },
  ];
}
