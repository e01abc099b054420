/**
 * NDJSON export of the system of record: one JSON object per line, `{"type": ..., "data": ...}`,
 * streamed in batches so memory stays flat whatever the table sizes.
 *
 * Consistent: everything is read in one REPEATABLE READ, READ ONLY transaction (a snapshot),
 * paging by `id > last` so rows changing meanwhile can neither end a table early nor appear
 * twice. Not retried: a failure halfway has already written lines; it surfaces with context,
 * and a partial file is removed (the path keeps what it had).
 *
 * Never exported: password hashes, passkey key material (credential id, public key), values
 * of secret-named config keys, the audit trail (own retention and access rules) and the search
 * outbox (transient).
 */

import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createWriteStream, openSync, renameSync, rmSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { NovaError } from '../../errors.js';
import { redact, redactConfigRow } from '../../redact.js';
import type { Tx } from './client.js';
import type { PgContext } from './context.js';
import { wrapPgError } from './errors.js';

export interface ExportOptions {
  /** Include users, their role names and passkey metadata (default false). */
  includeUsers?: boolean;
  /**
   * A file path (written beside it, mode 0600, then renamed into place: an existing file or
   * symlink there is replaced, never written through), or a stream such as process.stdout
   * (default).
   */
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

const cannotWrite = (path: string, error: unknown) =>
  new NovaError(
    'VALIDATION_FAILED',
    `output: cannot write ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'})`,
    { field: 'output', cause: error },
  );

/**
 * A file is never written through: the export goes to a new file beside it, created
 * exclusively (mode 0600, so no one else can have opened it first), and is renamed onto the
 * path only once complete. A file, or a symlink, that someone else put at the path is
 * replaced, never followed or written into; a failed export leaves the path as it was.
 */
function openFile(path: string) {
  const temporary = join(
    dirname(path),
    `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.partial`,
  );
  try {
    return { path, temporary, fd: openSync(temporary, 'wx', 0o600) };
  } catch (error) {
    throw cannotWrite(path, error);
  }
}

/** The destination, with failures captured as they happen (a stream may fail between writes). */
function openOutput(output: string | Writable) {
  const file = typeof output === 'string' ? openFile(output) : undefined;
  const out = file ? createWriteStream('', { fd: file.fd }) : (output as Writable);
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
    /** Closes a file and renames it into place, or removes it; reports a late write failure. */
    async finish(succeeded: boolean) {
      if (file) {
        out.end();
        await once(out, 'close').catch(() => undefined);
      }
      out.off('error', onError);
      if (file) {
        if (succeeded && !failure) {
          try {
            renameSync(file.temporary, file.path);
            return;
          } catch (error) {
            rmSync(file.temporary, { force: true });
            throw cannotWrite(file.path, error);
          }
        }
        rmSync(file.temporary, { force: true });
      }
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
