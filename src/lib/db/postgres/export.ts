/**
 * NDJSON export of the system of record: one JSON object per line, `{"type": ..., "data": ...}`,
 * streamed in keyset-paginated batches so memory stays flat whatever the table sizes.
 *
 * Never exported: password hashes, passkey key material (credential id, public key), the
 * audit trail (it has its own retention and access rules) and the search outbox (transient).
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import type { Writable } from 'node:stream';
import type { PgContext } from './context.js';
import { redact } from './redact.js';

export interface ExportOptions {
  /** Include users, their role names and passkey metadata (default false). */
  includeUsers?: boolean;
  /** A file path, or a stream such as process.stdout (default process.stdout). */
  output?: string | Writable;
  /** Rows fetched per query (default 500). */
  batchSize?: number;
}

export type ExportCounts = Record<string, number>;

type Batch = (after: string | undefined, take: number) => Promise<Array<{ id: string } & object>>;

async function write(out: Writable, line: string) {
  if (!out.write(line)) await once(out, 'drain');
}

function sources(ctx: PgContext, includeUsers: boolean): Array<[string, Batch]> {
  const page = (after: string | undefined, take: number) => ({
    take,
    orderBy: { id: 'asc' as const },
    ...(after ? { cursor: { id: after }, skip: 1 } : {}),
  });
  const list: Array<[string, Batch]> = [
    ['permission', (a, t) => ctx.prisma.permission.findMany(page(a, t))],
    [
      'role',
      async (a, t) =>
        (
          await ctx.prisma.role.findMany({
            ...page(a, t),
            include: { permissions: { select: { permission: { select: { name: true } } } } },
          })
        ).map(({ permissions, ...role }) => ({
          ...role,
          permissions: permissions.map((p) => p.permission.name),
        })),
    ],
    ['ticket', (a, t) => ctx.prisma.supportTicket.findMany(page(a, t))],
    ['kb_article', (a, t) => ctx.prisma.knowledgeBaseArticle.findMany(page(a, t))],
  ];
  if (includeUsers) {
    list.splice(2, 0, [
      'user',
      async (a, t) =>
        (
          await ctx.prisma.user.findMany({
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
    ]);
  }
  return list;
}

export async function exportData(
  ctx: PgContext,
  options: ExportOptions = {},
): Promise<ExportCounts> {
  const { includeUsers = false, output = process.stdout, batchSize = 500 } = options;
  const out = typeof output === 'string' ? createWriteStream(output, { mode: 0o600 }) : output;
  const counts: ExportCounts = {};
  try {
    for (const [type, batch] of sources(ctx, includeUsers)) {
      counts[type] = 0;
      let after: string | undefined;
      for (;;) {
        const rows = await ctx.run(`export ${type}`, () => batch(after, batchSize));
        for (const row of rows)
          await write(out, `${JSON.stringify({ type, data: redact(row) })}\n`);
        counts[type] += rows.length;
        if (rows.length < batchSize) break;
        after = rows.at(-1)?.id;
      }
    }
    // system_config is keyed by `key`, not id, and small by nature: one query.
    const configs = await ctx.run('export system_config', () =>
      ctx.prisma.systemConfig.findMany({ orderBy: { key: 'asc' } }),
    );
    for (const row of configs)
      await write(out, `${JSON.stringify({ type: 'system_config', data: redact(row) })}\n`);
    counts.system_config = configs.length;
  } finally {
    if (typeof output === 'string') {
      out.end();
      await once(out, 'close');
    }
  }
  return counts;
}
