/**
 * NDJSON export of the system of record: one JSON object per line, `{"type": ..., "data": ...}`,
 * streamed in batches so memory stays flat whatever the table sizes.
 *
 * Consistent: everything is read in one REPEATABLE READ, READ ONLY transaction (a snapshot),
 * paging by `id > last` so rows changing meanwhile can neither end a table early nor appear
 * twice. Not retried: a failure halfway has already written lines; it surfaces with context,
 * and a partial file is removed.
 *
 * Never exported: password hashes, passkey key material (credential id, public key), values
 * of secret-named config keys, the audit trail (own retention and access rules) and the search
 * outbox (transient).
 */
import { once } from 'node:events';
import { createWriteStream, fchmodSync, openSync, rmSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { NovaError } from '../../errors.js';
import { redact, redactConfigRow } from '../../redact.js';
import type { Tx } from './client.js';
import type { PgContext } from './context.js';
import { wrapPgError } from './errors.js';

export interface ExportOptions {
  /** Include users, their role names and passkey metadata (default false). */
  includeUsers?: boolean;
  /** A file path (created or truncated, mode 0600), or a stream such as process.stdout (default). */
  output?: string | Writable;
  /** Rows fetched per query (default 500). */
  batchSize?: number;
}

export type ExportCounts = Record<string, number>;

type Batch = (
  tx: Tx,
  after: string | undefined,
  take: number,
) => Promise<Array<{ id: string } & object>>;

/** Export can take a while on a big database; the snapshot must outlive it. */
const EXPORT_TIMEOUT_MS = 60 * 60 * 1000;

const page = (after: string | undefined, take: number) => ({
  take,
  orderBy: { id: 'asc' as const },
  ...(after ? { where: { id: { gt: after } } } : {}),
});

const SOURCES: Array<[type: string, batch: Batch, usersOnly?: boolean]> = [
  ['permission', (tx, a, t) => tx.permission.findMany(page(a, t))],
  [
    'role',
    async (tx, a, t) =>
      (
        await tx.role.findMany({
          ...page(a, t),
          include: { permissions: { select: { permission: { select: { name: true } } } } },
        })
      ).map(({ permissions, ...role }) => ({
        ...role,
        permissions: permissions.map((p) => p.permission.name),
      })),
  ],
  [
    'user',
    async (tx, a, t) =>
      (
        await tx.user.findMany({
          ...page(a, t),
          include: {
            roles: { select: { role: { select: { name: true } } } },
            passkeys: {
              select: {
                id: true,
                deviceType: true,
                backedUp: true,
                nickname: true,
                createdAt: true,
                lastUsedAt: true,
              },
            },
          },
        })
      ).map(({ roles, ...user }) => ({ ...user, roles: roles.map((r) => r.role.name) })),
    true,
  ],
  ['ticket', (tx, a, t) => tx.supportTicket.findMany(page(a, t))],
  ['kb_article', (tx, a, t) => tx.knowledgeBaseArticle.findMany(page(a, t))],
];

/** The destination, with failures captured as they happen (a stream may fail between writes). */
function openOutput(output: string | Writable) {
  let out: Writable;
  if (typeof output === 'string') {
    let fd: number;
    try {
      fd = openSync(output, 'w', 0o600);
      fchmodSync(fd, 0o600); // an existing file keeps its old mode through openSync
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code ?? 'error';
      throw new NovaError('VALIDATION_FAILED', `output: cannot write ${output} (${code})`, {
        field: 'output',
        cause: error,
      });
    }
    out = createWriteStream('', { fd });
  } else {
    out = output;
  }
  let failure: Error | undefined;
  const onError = (error: Error) => {
    failure ??= error;
  };
  out.on('error', onError);
  const check = () => {
    if (failure)
      throw new NovaError('INTERNAL', `export: writing failed: ${failure.message}`, {
        field: 'output',
        cause: failure,
      });
  };
  return {
    async write(line: string) {
      check();
      if (!out.write(line)) await once(out, 'drain').catch(check);
      check();
    },
    /** Closes a file (removing it unless the export succeeded); reports a late write failure. */
    async finish(succeeded: boolean) {
      if (typeof output === 'string') {
        out.end();
        await once(out, 'close').catch(() => undefined);
        if (!succeeded || failure) rmSync(output, { force: true });
      }
      out.off('error', onError);
      // After a failed export the original error is the one to report, not this one.
      if (succeeded) check();
    },
  };
}

export async function exportData(
  ctx: PgContext,
  options: ExportOptions = {},
): Promise<ExportCounts> {
  const { includeUsers = false, output = process.stdout, batchSize = 500 } = options;
  const sink = openOutput(output);
  const counts: ExportCounts = {};
  let succeeded = false;
  try {
    await ctx.prisma.$transaction(
      async (tx) => {
        await tx.$executeRaw`SET TRANSACTION READ ONLY`;
        for (const [type, batch, usersOnly] of SOURCES) {
          if (usersOnly && !includeUsers) continue;
          counts[type] = 0;
          let after: string | undefined;
          for (;;) {
            const rows = await batch(tx, after, batchSize);
            for (const row of rows)
              await sink.write(`${JSON.stringify({ type, data: redact(row) })}\n`);
            counts[type] += rows.length;
            if (rows.length < batchSize) break;
            after = rows.at(-1)?.id;
          }
        }
        // system_config is keyed by `key` and small by nature: one query.
        const configs = await tx.systemConfig.findMany({ orderBy: { key: 'asc' } });
        for (const row of configs) {
          await sink.write(
            `${JSON.stringify({ type: 'system_config', data: redactConfigRow(row) })}\n`,
          );
        }
        counts.system_config = configs.length;
      },
      { isolationLevel: 'RepeatableRead', timeout: EXPORT_TIMEOUT_MS, maxWait: 10_000 },
    );
    succeeded = true;
  } catch (error) {
    throw wrapPgError(error, 'exportData');
  } finally {
    await sink.finish(succeeded);
  }
  return counts;
}
