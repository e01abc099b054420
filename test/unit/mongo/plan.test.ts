import type { Document } from 'mongodb';
import { describe, expect, it } from 'vitest';
import {
  formatMongoReport,
  type MongoBootstrapReport,
} from '../../../src/bootstrap/mongo/index.js';
import {
  appRoles,
  type LiveCollection,
  type LiveIndex,
  type MongoStep,
  planAppUser,
  planCollections,
} from '../../../src/bootstrap/mongo/plan.js';
import { canonical } from '../../../src/lib/canonical.js';
import {
  type CollectionSpec,
  collectionSpecs,
} from '../../../src/lib/db/mongo/collection-specs.js';
import { NovaError } from '../../../src/lib/errors.js';
import { defaultRetentionMs } from '../../../src/lib/telemetry/collections.js';

const DB = 'nova_logs';
const specs = collectionSpecs(defaultRetentionMs());

function specOf(name: string): CollectionSpec {
  const spec = specs.find((s) => s.name === name);
  if (!spec) throw new Error(`no spec ${name}`);
  return spec;
}

/** What listIndexes returns: a `v` field, and `_id_` first. */
type ListedIndex = LiveIndex & { v: number };
const ID_INDEX: ListedIndex = { v: 2, key: { _id: 1 }, name: '_id_' };

/** The live state listCollections + listIndexes would report for collections built from `list`. */
function liveFrom(list: readonly CollectionSpec[] = specs): Map<string, LiveCollection> {
  return new Map(
    list.map((spec) => [
      spec.name,
      {
        name: spec.name,
        type: 'collection',
        options: structuredClone({
          validator: spec.validator,
          validationLevel: spec.validationLevel,
          validationAction: spec.validationAction,
        }),
        indexes: [
          { ...ID_INDEX },
          ...spec.indexes.map(
            (index): ListedIndex => ({
              v: 2,
              key: { ...index.key },
              name: index.name,
              ...(index.expireAfterSeconds === undefined
                ? {}
                : { expireAfterSeconds: index.expireAfterSeconds }),
            }),
          ),
        ],
      },
    ]),
  );
}

function collectionIn(live: Map<string, LiveCollection>, name: string): LiveCollection {
  const collection = live.get(name);
  if (!collection) throw new Error(`no live ${name}`);
  return collection;
}

function indexIn(collection: LiveCollection, name: string): LiveIndex {
  const index = collection.indexes.find((i) => i.name === name);
  if (!index) throw new Error(`no index ${collection.name}.${name}`);
  return index;
}

const commandsOf = (steps: readonly MongoStep[]) => steps.map((s) => s.command);

const orderedKey = (key: Record<string, unknown>) =>
  JSON.stringify(Object.entries(key).map(([k, v]) => [k, Number(v)]));

/**
 * A small stand-in for the server: applies the planned commands to the live state with
 * MongoDB's rules (an index's name and key pattern are both unique; collMod on an index
 * needs it to exist), so a test can check that one plan converges.
 */
function simulate(live: Map<string, LiveCollection>, steps: readonly MongoStep[]): void {
  for (const { command } of steps) {
    if (command.create !== undefined) {
      if (live.has(command.create)) throw new Error(`NamespaceExists ${command.create}`);
      live.set(command.create, {
        name: command.create,
        type: 'collection',
        options: structuredClone({
          validator: command.validator,
          validationLevel: command.validationLevel,
          validationAction: command.validationAction,
        }),
        indexes: [{ ...ID_INDEX }],
      });
      continue;
    }
    const name = command.collMod ?? command.createIndexes ?? command.dropIndexes;
    const collection = collectionIn(live, name);
    if (command.collMod !== undefined && command.index !== undefined) {
      // coll_mod.cpp: by name or by key pattern, not both; a key pattern two indexes share is
      // AmbiguousIndexKeyPattern (181).
      const { name: indexName, keyPattern } = command.index;
      if (indexName !== undefined && keyPattern !== undefined) throw new Error('InvalidOptions');
      const matches = collection.indexes.filter((i) =>
        indexName !== undefined
          ? i.name === indexName
          : orderedKey(i.key) === orderedKey(keyPattern),
      );
      if (matches.length > 1) throw new Error(`AmbiguousIndexKeyPattern ${name}`);
      const [target] = matches;
      if (!target) throw new Error(`IndexNotFound ${name}`);
      target.expireAfterSeconds = command.index.expireAfterSeconds;
    } else if (command.collMod !== undefined) {
      collection.options = structuredClone({
        validator: command.validator,
        validationLevel: command.validationLevel,
        validationAction: command.validationAction,
      });
    } else if (command.createIndexes !== undefined) {
      for (const wanted of command.indexes as Document[]) {
        const clash = collection.indexes.find(
          (i) => i.name === wanted.name || orderedKey(i.key) === orderedKey(wanted.key),
        );
        if (clash) throw new Error(`IndexOptionsConflict ${name}.${clash.name}`);
        collection.indexes.push({ v: 2, ...structuredClone(wanted) } as ListedIndex);
      }
    } else if (command.dropIndexes !== undefined) {
      const at = collection.indexes.findIndex((i) => i.name === command.index);
      if (at < 0) throw new Error(`IndexNotFound ${name}.${command.index}`);
      collection.indexes.splice(at, 1);
    } else {
      throw new Error(`unexpected command ${JSON.stringify(command)}`);
    }
  }
}

/** Plans, applies the plan to a copy of `live`, and expects nothing left to do. */
function expectConverges(live: Map<string, LiveCollection>) {
  const state = structuredClone(live);
  simulate(state, planCollections(specs, state, DB).steps);
  expect(planCollections(specs, state, DB)).toEqual({ steps: [], warnings: [] });
}

/** The same value with every object's keys in reverse order (arrays keep their order). */
function reverseKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(reverseKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .reverse()
        .map(([k, v]) => [k, reverseKeys(v)]),
    );
  }
  return value;
}

describe('planCollections on an empty database', () => {
  const plan = planCollections(specs, new Map(), DB);

  it('creates each collection with its validator, then all its indexes in one command', () => {
    expect(plan.warnings).toEqual([]);
    expect(plan.steps).toHaveLength(specs.length * 2);
    specs.forEach((spec, i) => {
      expect(plan.steps[2 * i]?.command).toStrictEqual({
        create: spec.name,
        validator: spec.validator,
        validationLevel: 'moderate',
        validationAction: 'error',
      });
      expect(plan.steps[2 * i + 1]?.command.createIndexes).toBe(spec.name);
      expect(plan.steps[2 * i + 1]?.command.indexes).toHaveLength(spec.indexes.length);
    });
    expect(plan.steps.every((s) => s.database === DB)).toBe(true);
  });

  it('sends the exact createIndexes document', () => {
    expect(plan.steps[1]).toStrictEqual({
      description:
        'create indexes audit_logs.timestamp_ttl, audit_logs.actor_time, audit_logs.entity_time',
      database: DB,
      command: {
        createIndexes: 'audit_logs',
        indexes: [
          { key: { timestamp: 1 }, name: 'timestamp_ttl', expireAfterSeconds: 7_776_000 },
          { key: { actorId: 1, timestamp: -1 }, name: 'actor_time' },
          { key: { entityType: 1, entityId: 1, timestamp: -1 }, name: 'entity_time' },
        ],
      },
    });
    const performance = plan.steps.find((s) => s.command.createIndexes === 'performance_metrics');
    expect(performance?.command).toStrictEqual({
      createIndexes: 'performance_metrics',
      indexes: [
        { key: { timestamp: 1 }, name: 'timestamp_ttl', expireAfterSeconds: 604_800 },
        { key: { service: 1, timestamp: 1 }, name: 'service_time' },
      ],
    });
  });

  it('on a replica set, asks for a majority commit quorum (the default waits for every voting member)', () => {
    const onReplicaSet = planCollections(specs, new Map(), DB, { replicaSet: true });
    for (const step of onReplicaSet.steps.filter((s) => s.command.createIndexes)) {
      expect(step.command.commitQuorum, step.description).toBe('majority');
    }
    // A standalone refuses the field: never sent there.
    for (const step of plan.steps) expect(step.command).not.toHaveProperty('commitQuorum');
  });

  it('converges in one run', () => {
    expectConverges(new Map());
  });

  it('creates only what is missing when some collections already exist', () => {
    const live = liveFrom(specs.filter((s) => s.name !== 'api_usage'));
    const partial = planCollections(specs, live, DB);
    expect(commandsOf(partial.steps).map((c) => c.create ?? c.createIndexes)).toEqual([
      'api_usage',
      'api_usage',
    ]);
    expect(partial.steps[0]?.command.create).toBe('api_usage');
    expectConverges(live);
  });
});

describe('planCollections on an existing database', () => {
  it('plans nothing when everything is already as specified', () => {
    expect(planCollections(specs, liveFrom(), DB)).toEqual({ steps: [], warnings: [] });
  });

  it('compares validators whatever the key order', () => {
    const live = liveFrom();
    for (const collection of live.values()) {
      collection.options = reverseKeys(collection.options) as Document;
    }
    const original = JSON.stringify(specOf('audit_logs').validator);
    const reordered = JSON.stringify(collectionIn(live, 'audit_logs').options.validator);
    expect(reordered).not.toBe(original);
    expect(planCollections(specs, live, DB).steps).toEqual([]);
  });

  it('changes a TTL in place with collMod, never by dropping the index', () => {
    const live = liveFrom();
    indexIn(collectionIn(live, 'audit_logs'), 'timestamp_ttl').expireAfterSeconds = 2_592_000;
    const plan = planCollections(specs, live, DB);
    expect(plan).toStrictEqual({
      steps: [
        {
          description: 'change TTL of audit_logs.timestamp_ttl from 30d to 90d',
          database: DB,
          command: {
            collMod: 'audit_logs',
            index: { name: 'timestamp_ttl', expireAfterSeconds: 7_776_000 },
          },
        },
      ],
      warnings: [],
    });
    expect(commandsOf(plan.steps).some((c) => 'dropIndexes' in c || 'createIndexes' in c)).toBe(
      false,
    );
    expectConverges(live);
  });

  it('changes a TTL by the index name, so another index on the same key (partial, collated) is no ambiguity', () => {
    const live = liveFrom();
    const audit = collectionIn(live, 'audit_logs');
    indexIn(audit, 'timestamp_ttl').expireAfterSeconds = 2_592_000;
    audit.indexes.push({
      v: 2,
      key: { timestamp: 1 },
      name: 'recent_errors',
      partialFilterExpression: { outcome: 'failure' },
    } as ListedIndex);
    expectConverges(live);
  });

  it('refuses a capped collection, which cannot expire documents by TTL', () => {
    const live = liveFrom();
    collectionIn(live, 'audit_logs').options.capped = true;
    expect(() => planCollections(specs, live, DB)).toThrow(/audit_logs is a capped collection/);
  });

  it('follows overridden retention', () => {
    const retention = { ...defaultRetentionMs(), system_logs: 12 * 3_600_000 };
    const steps = planCollections(collectionSpecs(retention), liveFrom(), DB).steps;
    expect(steps).toStrictEqual([
      {
        description: 'change TTL of system_logs.timestamp_ttl from 30d to 43200s',
        database: DB,
        command: {
          collMod: 'system_logs',
          index: { name: 'timestamp_ttl', expireAfterSeconds: 43_200 },
        },
      },
    ]);
  });

  it('accepts a TTL index with our key under another name', () => {
    const live = liveFrom();
    indexIn(collectionIn(live, 'audit_logs'), 'timestamp_ttl').name = 'timestamp_1';
    expect(planCollections(specs, live, DB)).toEqual({ steps: [], warnings: [] });

    indexIn(collectionIn(live, 'audit_logs'), 'timestamp_1').expireAfterSeconds = 86_400;
    const plan = planCollections(specs, live, DB);
    expect(plan.warnings).toEqual([]);
    expect(plan.steps).toStrictEqual([
      {
        description: 'change TTL of audit_logs.timestamp_1 from 1d to 90d',
        database: DB,
        command: {
          collMod: 'audit_logs',
          index: { name: 'timestamp_1', expireAfterSeconds: 7_776_000 },
        },
      },
    ]);
    expectConverges(live);
  });

  it('adds a TTL to a plain index on timestamp with collMod', () => {
    const live = liveFrom();
    const audit = collectionIn(live, 'audit_logs');
    audit.indexes = audit.indexes.filter((i) => i.name !== 'timestamp_ttl');
    const plain: ListedIndex = { v: 2, key: { timestamp: 1 }, name: 'timestamp_1' };
    audit.indexes.push(plain);
    expect(planCollections(specs, live, DB)).toStrictEqual({
      steps: [
        {
          description: 'change TTL of audit_logs.timestamp_1 from none to 90d',
          database: DB,
          command: {
            collMod: 'audit_logs',
            index: { name: 'timestamp_1', expireAfterSeconds: 7_776_000 },
          },
        },
      ],
      warnings: [],
    });
    expectConverges(live);
  });

  it('drops and recreates a secondary index that has our name but other keys', () => {
    const live = liveFrom();
    // An earlier direction on the time field: same name, different index.
    indexIn(collectionIn(live, 'performance_metrics'), 'service_time').key = {
      service: 1,
      timestamp: -1,
    };
    const plan = planCollections(specs, live, DB);
    expect(plan.warnings).toEqual([]);
    expect(plan.steps).toStrictEqual([
      {
        description:
          'drop index performance_metrics.service_time (keys service:1,timestamp:-1, wanted service:1,timestamp:1)',
        database: DB,
        command: { dropIndexes: 'performance_metrics', index: 'service_time' },
      },
      {
        description: 'create index performance_metrics.service_time',
        database: DB,
        command: {
          createIndexes: 'performance_metrics',
          indexes: [{ key: { service: 1, timestamp: 1 }, name: 'service_time' }],
        },
      },
    ]);
    expectConverges(live);
  });

  it('treats the same fields in another order as different keys', () => {
    const live = liveFrom();
    indexIn(collectionIn(live, 'audit_logs'), 'entity_time').key = {
      entityId: 1,
      entityType: 1,
      timestamp: -1,
    };
    expect(commandsOf(planCollections(specs, live, DB).steps)).toStrictEqual([
      { dropIndexes: 'audit_logs', index: 'entity_time' },
      {
        createIndexes: 'audit_logs',
        indexes: [{ key: { entityType: 1, entityId: 1, timestamp: -1 }, name: 'entity_time' }],
      },
    ]);
  });

  it('creates only the missing secondary index', () => {
    const live = liveFrom();
    const errors = collectionIn(live, 'error_logs');
    errors.indexes = errors.indexes.filter((i) => i.name !== 'type_time');
    expect(planCollections(specs, live, DB)).toStrictEqual({
      steps: [
        {
          description: 'create index error_logs.type_time',
          database: DB,
          command: {
            createIndexes: 'error_logs',
            indexes: [{ key: { errorType: 1, timestamp: -1 }, name: 'type_time' }],
          },
        },
      ],
      warnings: [],
    });
    expectConverges(live);
  });

  it('warns about a TTL index it does not manage and leaves it alone', () => {
    const live = liveFrom();
    const audit = collectionIn(live, 'audit_logs');
    const unmanaged: ListedIndex[] = [
      { v: 2, key: { receivedAt: 1 }, name: 'receivedAt_1', expireAfterSeconds: 86_400 },
      { v: 2, key: { traceId: 1 }, name: 'traceId_1' },
    ];
    audit.indexes.push(...unmanaged);
    const plan = planCollections(specs, live, DB);
    expect(plan.steps).toEqual([]);
    expect(plan.warnings).toHaveLength(1);
    expect(plan.warnings[0]).toContain('audit_logs.receivedAt_1');
    expect(plan.warnings[0]).toContain('expires after 1d');
  });

  it.each<[string, (options: Document) => void]>([
    [
      'a field no longer required',
      (o) => {
        o.validator.$jsonSchema.required = o.validator.$jsonSchema.required.slice(1);
      },
    ],
    [
      'a changed property',
      (o) => {
        o.validator.$jsonSchema.properties.action = { bsonType: 'int' };
      },
    ],
    ['no validator', (o) => delete o.validator],
    ['validationLevel strict', (o) => (o.validationLevel = 'strict')],
    ['validationLevel missing (strict)', (o) => delete o.validationLevel],
    ['validationAction warn', (o) => (o.validationAction = 'warn')],
  ])('resets the validator with one collMod on drift: %s', (_case, drift) => {
    const live = liveFrom();
    drift(collectionIn(live, 'audit_logs').options);
    const spec = specOf('audit_logs');
    expect(planCollections(specs, live, DB)).toStrictEqual({
      steps: [
        {
          description: 'set the validator of audit_logs',
          database: DB,
          command: {
            collMod: 'audit_logs',
            validator: spec.validator,
            validationLevel: 'moderate',
            validationAction: 'error',
          },
        },
      ],
      warnings: [],
    });
    expectConverges(live);
  });

  it('treats a missing validationAction as the default, error', () => {
    const live = liveFrom();
    for (const collection of live.values()) delete collection.options.validationAction;
    expect(planCollections(specs, live, DB)).toEqual({ steps: [], warnings: [] });
  });

  it.each(['view', 'timeseries'])('refuses a %s that has a collection name', (type) => {
    const live = liveFrom();
    live.set('user_activity', { name: 'user_activity', type, options: {}, indexes: [] });
    let thrown: unknown;
    try {
      planCollections(specs, live, DB);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NovaError);
    expect(thrown).toMatchObject({ code: 'BOOTSTRAP_FAILED', field: 'user_activity' });
    expect((thrown as Error).message).toContain(`${DB}.user_activity exists but is a ${type}`);
  });

  // A live index carrying one of our names but the keys of another of our indexes serves
  // that other index and is kept (MongoDB cannot rename an index); the missing index gets a
  // free name instead, so the first run converges.
  it('converges when our index name sits on the keys of another of our indexes', () => {
    const live = liveFrom();
    const audit = collectionIn(live, 'audit_logs');
    audit.indexes = audit.indexes.filter((i) => i.name !== 'entity_time');
    indexIn(audit, 'actor_time').key = { entityType: 1, entityId: 1, timestamp: -1 };
    const { steps, warnings } = planCollections(specs, live, DB);
    expect(steps.map((step) => step.command)).toStrictEqual([
      {
        createIndexes: 'audit_logs',
        indexes: [{ key: { actorId: 1, timestamp: -1 }, name: 'actor_time_2' }],
      },
    ]);
    expect(warnings).toEqual([
      expect.stringContaining('creating actorId:1,timestamp:-1 as actor_time_2'),
    ]);
    expectConverges(live);
  });

  it('never drops the index that serves as the TTL, whatever its name', () => {
    const live = liveFrom();
    const audit = collectionIn(live, 'audit_logs');
    audit.indexes = audit.indexes.filter((i) => i.name !== 'timestamp_ttl');
    indexIn(audit, 'actor_time').key = { timestamp: 1 };
    indexIn(audit, 'actor_time').expireAfterSeconds = 7_776_000;
    const { steps } = planCollections(specs, live, DB);
    expect(steps.some((step) => 'dropIndexes' in step.command)).toBe(false);
    expectConverges(live);
  });
});

describe('canonical', () => {
  it('ignores object key order at any depth but keeps array order', () => {
    expect(canonical({ b: 1, a: { d: [{ y: 1, x: 2 }], c: 2 } })).toBe(
      canonical({ a: { c: 2, d: [{ x: 2, y: 1 }] }, b: 1 }),
    );
    expect(canonical({ a: [1, 2] })).not.toBe(canonical({ a: [2, 1] }));
    expect(canonical({ a: 1 })).not.toBe(canonical({ a: '1' }));
    expect(canonical({ a: { b: 1 } })).not.toBe(canonical({ a: { b: 1, c: 1 } }));
  });
});

describe('planAppUser', () => {
  const user = { name: 'nova_app', password: 's3cret', database: 'admin' };
  const readWrite = { role: 'readWrite', db: DB };

  it('wants readWrite on the logs database and nothing else', () => {
    expect(appRoles(DB)).toEqual([readWrite]);
  });

  it('creates a missing user in its own database', () => {
    expect(
      planAppUser(user, appRoles(DB), { exists: false, roles: [], passwordCurrent: false }),
    ).toStrictEqual([
      {
        description: `create user nova_app in admin (readWrite@${DB})`,
        database: 'admin',
        command: {
          createUser: 'nova_app',
          pwd: 's3cret',
          roles: [readWrite],
        },
      },
    ]);
  });

  it('leaves a user with the right roles and a working password alone', () => {
    expect(
      planAppUser(user, appRoles(DB), { exists: true, roles: [readWrite], passwordCurrent: true }),
    ).toEqual([]);
  });

  it('compares roles as a set', () => {
    const wanted = [readWrite, { role: 'read', db: 'reporting' }];
    const live = { exists: true, roles: [...wanted].reverse(), passwordCurrent: true };
    expect(planAppUser(user, wanted, live)).toEqual([]);
  });

  it.each([
    ['an extra role', [readWrite, { role: 'dbAdmin', db: DB }]],
    ['the role on another database', [{ role: 'readWrite', db: 'other' }]],
    ['no roles', []],
  ])('resets the roles only when they differ: %s', (_case, roles) => {
    const steps = planAppUser(user, appRoles(DB), { exists: true, roles, passwordCurrent: true });
    expect(steps).toHaveLength(1);
    expect(steps[0]?.database).toBe('admin');
    expect(steps[0]?.command).toStrictEqual({ updateUser: 'nova_app', roles: [readWrite] });
    expect(steps[0]?.description).not.toContain('password');
  });

  it('resets only the password when it no longer works', () => {
    expect(
      planAppUser(user, appRoles(DB), { exists: true, roles: [readWrite], passwordCurrent: false }),
    ).toStrictEqual([
      {
        description: 'update user nova_app in admin: password',
        database: 'admin',
        command: { updateUser: 'nova_app', pwd: 's3cret' },
      },
    ]);
  });

  it('changes roles and password in one updateUser', () => {
    const steps = planAppUser(user, appRoles(DB), {
      exists: true,
      roles: [readWrite, { role: 'dbAdmin', db: DB }],
      passwordCurrent: false,
    });
    expect(steps).toStrictEqual([
      {
        description: `update user nova_app in admin: roles dbAdmin@${DB},readWrite@${DB} -> readWrite@${DB}, password`,
        database: 'admin',
        command: { updateUser: 'nova_app', roles: [readWrite], pwd: 's3cret' },
      },
    ]);
  });
});

describe('formatMongoReport', () => {
  const base: MongoBootstrapReport = {
    database: DB,
    dryRun: false,
    steps: [],
    warnings: [],
    changed: false,
  };
  const steps = [
    { description: 'create collection audit_logs with its validator', database: DB, command: {} },
    { description: 'create user nova_app in admin', database: 'admin', command: { pwd: '***' } },
  ];

  it('says when there is nothing to change', () => {
    expect(formatMongoReport(base)).toBe(
      `MongoDB ${DB}:\n  nothing to change (already up to date)`,
    );
  });

  it('lists planned steps on a dry run and applied steps otherwise', () => {
    const dry = formatMongoReport({ ...base, dryRun: true, steps });
    expect(dry).toContain('2 change(s) planned (dry run, nothing applied):');
    expect(dry).toContain('    - create collection audit_logs with its validator');
    expect(dry).toContain('    - create user nova_app in admin');
    expect(dry).not.toContain('nothing to change');

    const applied = formatMongoReport({ ...base, steps, changed: true });
    expect(applied).toContain('2 change(s) applied:');
    expect(applied).not.toContain('dry run');
    expect(applied).toContain('    - create collection audit_logs with its validator');
  });

  it('prints every warning', () => {
    const text = formatMongoReport({
      ...base,
      warnings: ['first thing to know', 'second thing to know'],
    });
    expect(text).toContain('nothing to change');
    expect(text).toContain('  warning: first thing to know');
    expect(text).toContain('  warning: second thing to know');
  });
});
