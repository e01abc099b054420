/**
 * One importer per kind of legacy table: `map` turns a row into what its write path takes, or
 * throws a Refusal naming why it cannot (checked there, before anything is written, so a bad
 * value is a refused row and never a failed batch); `write` writes a batch and records each
 * row in the ledger.
 *
 * Tickets and audit rows are written set-based, a batch per transaction with its ledger
 * entries. Users too. Role grants, passkeys and config go through novaDb's own one-row write
 * paths (audited each), each row's ledger entry right after it: every one of those writes is
 * idempotent (a grant held, a passkey registered or a key set already is skipped), so a run
 * stopped between the two writes the row again harmlessly.
 */
import type { Actor } from '../../lib/db/postgres/audit.js';
import type { LedgerScope, LegacyTicket, LegacyUser } from '../../lib/db/postgres/legacy-import.js';
import type { RegisterPasskeyInput } from '../../lib/db/postgres/passkeys.js';
import type { PostgresStore } from '../../lib/db/postgres.js';
import { isNovaError } from '../../lib/errors.js';
import type { FoundTable } from './inspect.js';
import type { ImportableTable } from './legacy-schema.js';
import { lookup, type Mapping } from './mapping.js';
import {
  active,
  claim,
  configKey,
  configValue,
  passkey,
  person,
  Refusal,
  text,
  ticket,
  time,
} from './rows.js';

export type Row = Record<string, unknown>;

export interface Importer<T> {
  /**
   * Batches that may be written at once (default 1): more only where batches cannot depend
   * on each other's rows (tickets and audit rows; their requesters and actors come from
   * tables imported before).
   */
  writers?: number;
  map(table: FoundTable, row: Row, sourceId: string): Promise<T> | T;
  write(
    records: { sourceId: string; record: T }[],
    ledger: LedgerScope,
  ): Promise<{ imported: number; skipped: number }>;
}

/**
 * Batches of tickets written at once: PostgreSQL works on one while the next is sent, and on
 * a second core if there is one.
 */
const PARALLEL_WRITES = 2;

export interface ImportContext {
  store: PostgresStore;
  mapping: Mapping;
  actor: Actor | undefined;
  dryRun: boolean;
  /** The source's name in the ledger (and in imported tickets' references). */
  source: string;
  /** The roles the new platform has (a mapped role must be one of them). */
  roles: Set<string>;
}

export function importersFor(context: ImportContext): Record<ImportableTable, Importer<unknown>> {
  const { store, mapping, actor, dryRun, source, roles } = context;
  const users: LedgerScope = { source, table: 'users' };
  /** Legacy role id → our role name, as the roles table maps it (filled by its import). */
  const roleNames = new Map<string, string>();
  /** Legacy user ids this run accepted: what a dry run's role grants may refer to. */
  const acceptedUsers = new Set<string>();
  /** Email (lower case) → the users row that had it first. */
  const userEmails = new Map<string, string>();
  /** Ticket reference → the logs row that had it first. */
  const ticketRefs = new Map<string, string>();
  /** Credential id (base64url) → the passkeys row that had it first. */
  const credentials = new Map<string, string>();
  /** legacy.* key → the legacy key that took it (two spellings of one key collide). */
  const configKeys = new Map<string, string>();
  /** Requesters resolved by earlier batches: email in lower case → user id. */
  const requesters = new Map<string, string>();

  /** A legacy user id → ours: from the ledger, or (a dry run) one this run accepted. */
  const userOf = async (legacyUser: string) =>
    (await store.importedTargets(users, [legacyUser])).get(legacyUser) ??
    (dryRun && acceptedUsers.has(legacyUser) ? `(user ${legacyUser})` : undefined);

  /** Writes rows one by one, each followed by its ledger entry. */
  const oneByOne =
    <T>(
      targetType: string,
      write: (record: T) => Promise<boolean>,
      target: (record: T) => string,
    ) =>
    async (records: { sourceId: string; record: T }[], ledger: LedgerScope) => {
      let imported = 0;
      for (const { sourceId, record } of records) {
        if (await write(record)) imported++;
        await store.recordLegacyImports(ledger, [
          { sourceId, targetType, targetId: target(record) },
        ]);
      }
      return { imported, skipped: records.length - imported };
    };

  return {
    users: {
      map: (table, row, sourceId): LegacyUser => {
        const user = {
          sourceId,
          ...person(table, row, {
            createdAt: time(table, row, 'createdAt') ?? null,
            active: active(table, row),
          }),
        };
        claim(
          userEmails,
          user.email.toLowerCase(),
          sourceId,
          (first) => `duplicate email (row ${first} has it too)`,
        );
        acceptedUsers.add(sourceId);
        return user;
      },
      write: (records, ledger) =>
        store.importLegacyUsers(
          ledger,
          records.map((r) => r.record as LegacyUser),
          actor,
        ),
    },
    roles: {
      map: (table, row, sourceId) => {
        const name = text(table, row, 'name') ?? '';
        const ours = lookup(mapping.roles, name);
        if (ours === undefined) {
          throw new Refusal(
            `role ${JSON.stringify(name)} has no counterpart (add it to --map's "roles")`,
          );
        }
        if (!roles.has(ours)) {
          throw new Refusal(`role ${JSON.stringify(name)} maps to ${ours}, which is no role here`);
        }
        roleNames.set(sourceId, ours);
        return ours;
      },
      // Roles are mapped, not made: nothing to write but the ledger.
      write: async (records, ledger) => {
        await store.recordLegacyImports(
          ledger,
          records.map((r) => ({
            sourceId: r.sourceId,
            targetType: 'role',
            targetId: String(r.record),
          })),
        );
        return { imported: records.length, skipped: 0 };
      },
    },
    user_roles: {
      map: async (table, row) => {
        const legacyUser = text(table, row, 'userId') ?? '';
        const userId = await userOf(legacyUser);
        if (userId === undefined) throw new Refusal(`user ${legacyUser} was not imported`);
        const roleId = text(table, row, 'roleId');
        const byName = lookup(mapping.roles, text(table, row, 'roleName') ?? '');
        const role = (roleId !== undefined ? roleNames.get(roleId) : undefined) ?? byName;
        if (role === undefined || !roles.has(role)) {
          throw new Refusal(`role ${roleId ?? text(table, row, 'roleName')} is not mapped`);
        }
        return { userId, role };
      },
      write: oneByOne<{ userId: string; role: string }>(
        'user_role',
        (grant) => store.assignRole(grant.userId, grant.role, actor),
        (grant) => `${grant.userId}:${grant.role}`,
      ),
    },
    passkeys: {
      map: async (table, row, sourceId) => {
        const legacyUser = text(table, row, 'userId') ?? '';
        const input = passkey(table, row);
        const userId = await userOf(legacyUser);
        if (userId === undefined) throw new Refusal(`user ${legacyUser} was not imported`);
        const credential = Buffer.from(input.credentialId as Uint8Array).toString('base64url');
        claim(
          credentials,
          credential,
          sourceId,
          (first) => `duplicate credential (row ${first} has it too)`,
        );
        const held = await store.findPasskeyForVerification(input.credentialId as Uint8Array);
        if (held && held.userId !== userId) {
          throw new Refusal('this credential is registered to another user');
        }
        return { userId, input };
      },
      write: oneByOne<{ userId: string; input: RegisterPasskeyInput }>(
        'passkey',
        async ({ userId, input }) => {
          try {
            await store.registerPasskey(userId, input, actor);
            return true;
          } catch (error) {
            // Registered already, to this user (another's was refused when mapped).
            if (isNovaError(error) && error.code === 'ALREADY_EXISTS') return false;
            throw error;
          }
        },
        ({ input }) => Buffer.from(input.credentialId as Uint8Array).toString('base64url'),
      ),
    },
    config: {
      map: (table, row) => {
        const legacyKey = text(table, row, 'key') ?? '';
        const key = configKey(legacyKey);
        claim(
          configKeys,
          key,
          legacyKey,
          (first) =>
            `key ${JSON.stringify(legacyKey)} becomes ${key}, as ${JSON.stringify(first)} does`,
        );
        return { key, value: configValue(table, row) };
      },
      write: oneByOne<{ key: string; value: unknown }>(
        'config',
        async ({ key, value }) => {
          // A key set already (by an earlier run, or by hand since) is left as it is.
          if ((await store.getConfig(key)) !== null) return false;
          // Secret-named keys stay secret: the audit row and every read redact them by name.
          await store.setConfig(
            key,
            value,
            { description: 'imported from the legacy Nova config' },
            actor,
          );
          return true;
        },
        ({ key }) => key,
      ),
    },
    logs: {
      writers: PARALLEL_WRITES,
      map: (table, row, sourceId) => {
        const record = ticket(table, row, sourceId, mapping, source);
        claim(ticketRefs, record.externalRef, sourceId, (first) => {
          const id = record.externalRef.slice(source.length + 1);
          return `duplicate ticket id ${id} (row ${first} has it too)`;
        });
        return record;
      },
      write: (records, ledger) =>
        store.importLegacyTickets(
          ledger,
          records.map((r) => r.record as LegacyTicket),
          actor,
          requesters,
        ),
    },
    audit_logs: {
      writers: PARALLEL_WRITES,
      map: (table, row) => {
        const action = text(table, row, 'action');
        if (action === undefined) throw new Refusal('no action');
        const raw = text(table, row, 'details');
        let details: unknown = raw;
        try {
          details = raw === undefined ? undefined : JSON.parse(raw);
        } catch {
          // Free text: kept as it is.
        }
        return {
          userId: text(table, row, 'userId'),
          action: action.toLowerCase().replace(/[^a-z0-9_.]+/g, '_'),
          details: details === undefined ? undefined : { details },
          at: time(table, row, 'timestamp') ?? null,
        };
      },
      write: async (records, ledger) => {
        type Audit = { userId?: string; action: string; details: unknown; at: Date | null };
        const rows = records as { sourceId: string; record: Audit }[];
        const actors = await store.importedTargets(
          users,
          rows.flatMap((r) => (r.record.userId ? [r.record.userId] : [])),
        );
        return store.importLegacyAudit(
          ledger,
          rows.map(({ sourceId, record }) => ({
            sourceId,
            actorId: record.userId ? (actors.get(record.userId) ?? null) : null,
            action: record.action,
            details: record.details,
            at: record.at,
          })),
        );
      },
    },
  };
}
