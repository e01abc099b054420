/**
 * Bearer API tokens for the service: created for a user (the secret is returned once),
 * listed, revoked, and resolved on every request to the user and the permissions their roles
 * grant (from memory, when the service's principal cache holds them).
 *
 * A token is `nova_` and 43 base64url characters (256 random bits). The prefix lets secret
 * scanners recognise a leaked token. Only its SHA-256 is stored: a slow password hash buys
 * nothing for a random 256-bit secret, and a hash lookup keeps authentication one indexed
 * query. A revoked or expired token, or one whose user is deactivated, authenticates nobody.
 * Every token expires (DEFAULT_TOKEN_DAYS unless asked, MAX_TOKEN_DAYS at most), and may be
 * scoped to some of its user's permissions: it then authenticates with those the user still
 * holds among them.
 */
import { hash, randomBytes, randomUUID } from 'node:crypto';
import { z } from 'zod';
import { untraced } from '../../../telemetry/untraced.js';
import { NovaError } from '../../errors.js';
import { setMostRecent } from '../../recent-map.js';
import { parseInput, uuid } from '../../validation.js';
import { type Actor, auditData } from './audit.js';
import type { Tx } from './client.js';
import type { PgContext } from './context.js';
import { isForeignKeyViolation, uniqueViolationFields } from './errors.js';
import { permissionName } from './rbac.js';

const TOKEN_PATTERN = /^nova_[A-Za-z0-9_-]{43}$/;
/** last_used_at is written at most this often per token: not one UPDATE per request. */
const LAST_USED_RESOLUTION_MS = 60_000;

/** A token's lifetime when none is asked for, and the longest one may have. */
export const DEFAULT_TOKEN_DAYS = 90;
export const MAX_TOKEN_DAYS = 365;

const createTokenInput = z
  .strictObject({
    name: z.string().trim().min(1, 'must not be empty').max(100),
    /** Days until the token stops working (default DEFAULT_TOKEN_DAYS). */
    expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).optional(),
    /** Or hours, for short-lived tokens (the demo's). */
    expiresInHours: z
      .number()
      .int()
      .min(1)
      .max(MAX_TOKEN_DAYS * 24)
      .optional(),
    /** Permissions the token may use, all held by the user; none: all the user's. */
    scopes: z.array(permissionName).max(200).optional(),
  })
  .refine((input) => input.expiresInDays === undefined || input.expiresInHours === undefined, {
    message: 'give expiresInDays or expiresInHours, not both',
    path: ['expiresInHours'],
  });
export type CreateApiTokenInput = z.input<typeof createTokenInput>;

const revokeTokenInput = z.union([
  z.strictObject({ id: uuid }),
  z.strictObject({ userId: uuid, name: z.string().trim().min(1).max(100) }),
]);
export type RevokeApiTokenInput = z.input<typeof revokeTokenInput>;

/** What lists and the audit trail show: never the secret or its hash. */
const summary = {
  id: true,
  userId: true,
  name: true,
  createdAt: true,
  expiresAt: true,
  lastUsedAt: true,
  revokedAt: true,
  scopes: true,
} as const;

/** Scopes must be permissions the user holds now (a later loss narrows the token too). */
async function requireHeld(tx: Tx, userId: string, scopes: string[]): Promise<void> {
  const held = await tx.permission.findMany({
    where: {
      name: { in: scopes },
      roles: { some: { role: { users: { some: { userId } } } } },
    },
    select: { name: true },
  });
  const names = new Set(held.map((p) => p.name));
  const missing = scopes.filter((scope) => !names.has(scope));
  if (missing.length > 0) {
    throw new NovaError(
      'VALIDATION_FAILED',
      `a token's scopes must be permissions its user holds; not held: ${missing.join(', ')}`,
      { field: 'scopes' },
    );
  }
}

export interface AuthenticatedToken {
  tokenId: string;
  userId: string;
  permissions: string[];
}

/** SHA-256 of a token; `crypto.hash` is one call, a fifth of createHash's cost per request. */
const hashToken = (token: string) => hash('sha256', token, 'buffer');

/**
 * A new token for `userId`; `token` is the secret, returned here and never again. Names are
 * unique among a user's active tokens, so `revokeApiToken({ userId, name })` is unambiguous.
 */
export async function createApiToken(
  ctx: PgContext,
  userId: string,
  input: CreateApiTokenInput,
  actor?: Actor,
) {
  const owner = parseInput(uuid, userId, 'userId');
  const { name, expiresInDays, expiresInHours, scopes = [] } = parseInput(createTokenInput, input);
  const token = `nova_${randomBytes(32).toString('base64url')}`;
  const lifetimeMs =
    expiresInHours === undefined
      ? (expiresInDays ?? DEFAULT_TOKEN_DAYS) * 86_400_000
      : expiresInHours * 3_600_000;
  const expiresAt = new Date(Date.now() + lifetimeMs);
  const scoped = [...new Set(scopes)].sort();
  // Chosen here, so a retry after a lost COMMIT reply recognises its own row.
  const id = randomUUID();
  const taken = (cause?: unknown) =>
    new NovaError('ALREADY_EXISTS', `this user already has an active token ${name}`, {
      field: 'name',
      ...(cause === undefined ? {} : { cause }),
    });
  const created = await ctx.run('createApiToken', () =>
    ctx.prisma
      .$transaction(async (tx) => {
        const clash = await tx.apiToken.findFirst({
          where: { userId: owner, name, revokedAt: null },
          select: summary,
        });
        if (clash?.id === id) return clash;
        if (clash) throw taken();
        if (scoped.length > 0) await requireHeld(tx, owner, scoped);
        const row = await tx.apiToken.create({
          data: { id, userId: owner, name, tokenHash: hashToken(token), expiresAt, scopes: scoped },
          select: summary,
        });
        await tx.auditLog.create({
          data: auditData(
            { action: 'api_token.created', entityType: 'user', entityId: owner, after: row },
            actor,
          ),
        });
        return row;
      })
      .catch((error: unknown) => {
        // A concurrent create of the same name won the partial unique index.
        if (uniqueViolationFields(error) !== undefined) throw taken(error);
        if (isForeignKeyViolation(error)) {
          throw new NovaError('NOT_FOUND', `user ${owner} not found`, {
            field: 'userId',
            cause: error,
          });
        }
        throw error;
      }),
  );
  return { ...created, token };
}

export async function listApiTokens(ctx: PgContext, userId: string) {
  const owner = parseInput(uuid, userId, 'userId');
  return ctx.run('listApiTokens', () =>
    ctx.prisma.apiToken.findMany({
      where: { userId: owner },
      select: summary,
      orderBy: { createdAt: 'asc' },
    }),
  );
}

/** Revokes by id, or by a user's active token name; revoking twice is NOT_FOUND the second time. */
export async function revokeApiToken(ctx: PgContext, which: RevokeApiTokenInput, actor?: Actor) {
  const target = parseInput(revokeTokenInput, which, 'token');
  const where =
    'id' in target
      ? { id: target.id, revokedAt: null }
      : { userId: target.userId, name: target.name, revokedAt: null };
  return ctx
    .run('revokeApiToken', () =>
      ctx.prisma.$transaction(async (tx) => {
        const found = await tx.apiToken.findFirst({ where, select: summary });
        if (!found) {
          throw new NovaError('NOT_FOUND', 'no active token matches', {
            field: 'id' in target ? 'id' : 'name',
          });
        }
        const revoked = await tx.apiToken.update({
          where: { id: found.id },
          data: { revokedAt: new Date() },
          select: summary,
        });
        await tx.auditLog.create({
          data: auditData(
            {
              action: 'api_token.revoked',
              entityType: 'user',
              entityId: revoked.userId,
              before: found,
              after: revoked,
            },
            actor,
          ),
        });
        return revoked;
      }),
    )
    .then((revoked) => {
      // At once in this process; others drop it on the trigger's notification.
      ctx.principals?.invalidate(`token:${revoked.id}`);
      return revoked;
    });
}

/**
 * The principal cache's answer for a token, at once: undefined when the cache is off or does
 * not hold it (authenticateApiToken then asks the database). Lets a caller skip a promise on
 * the common path; the same rules hold (the cache drops revoked, expired and changed ones).
 */
export function cachedApiToken(ctx: PgContext, token: string): AuthenticatedToken | undefined {
  const cached = ctx.principals?.get(token);
  if (cached) touchLastUsed(ctx, cached.tokenId);
  return cached;
}

/**
 * The user and permissions behind a presented token, or null when it is malformed, unknown,
 * revoked, expired, or its user is deactivated. Malformed tokens never reach the database.
 *
 * With the principal cache on (the service), a token seen within its TTL costs no query and
 * no hashing: see principal-cache.ts for when entries are dropped. last_used_at is then
 * written at most once a minute per token and never waited for: it is bookkeeping, off the
 * request path.
 */
export async function authenticateApiToken(
  ctx: PgContext,
  token: string,
): Promise<AuthenticatedToken | null> {
  if (typeof token !== 'string' || !TOKEN_PATTERN.test(token)) return null;
  const cached = cachedApiToken(ctx, token);
  if (cached) return cached;
  const cache = ctx.principals;
  if (cache?.refused(token)) return null;
  const key = hash('sha256', token, 'base64');
  const generation = cache?.generation ?? 0;
  const found = await ctx.run('authenticateApiToken', () =>
    ctx.prisma.apiToken.findUnique({
      where: { tokenHash: Buffer.from(key, 'base64') },
      select: {
        id: true,
        userId: true,
        expiresAt: true,
        revokedAt: true,
        lastUsedAt: true,
        scopes: true,
        user: {
          select: {
            active: true,
            roles: {
              select: {
                role: {
                  select: { permissions: { select: { permission: { select: { name: true } } } } },
                },
              },
            },
          },
        },
      },
    }),
  );
  const now = Date.now();
  if (
    !found ||
    found.revokedAt ||
    (found.expiresAt && found.expiresAt.getTime() <= now) ||
    !found.user.active
  ) {
    cache?.refuse(token, generation);
    return null;
  }
  if (!found.lastUsedAt || now - found.lastUsedAt.getTime() > LAST_USED_RESOLUTION_MS) {
    touchLastUsed(ctx, found.id, true);
  } else {
    setMostRecent(lastUsedWritten, found.id, found.lastUsedAt.getTime(), LAST_USED_TRACKED);
  }
  const scopes = found.scopes.length > 0 ? new Set(found.scopes) : undefined;
  const permissions = new Set(
    found.user.roles
      .flatMap((r) => r.role.permissions.map((p) => p.permission.name))
      .filter((name) => scopes === undefined || scopes.has(name)),
  );
  const principal = {
    tokenId: found.id,
    userId: found.userId,
    permissions: [...permissions].sort(),
  };
  cache?.set(token, principal, found.expiresAt, generation);
  return principal;
}

/**
 * When this process last wrote (or read) each token's last_used_at. Bounded: a token that
 * has not been seen for a while may be written once more than needed, never less.
 */
const lastUsedWritten = new Map<string, number>();
const LAST_USED_TRACKED = 10_000;

/**
 * Writes last_used_at when this process has not for a minute; not awaited. Conditional, so
 * concurrent writers (requests, processes) at the minute's turn write the row once; a
 * failure does not refuse a valid token (a later use writes it).
 */
function touchLastUsed(ctx: PgContext, tokenId: string, due = false): void {
  const now = Date.now();
  const last = lastUsedWritten.get(tokenId);
  if (!due && last !== undefined && now - last <= LAST_USED_RESOLUTION_MS) return;
  setMostRecent(lastUsedWritten, tokenId, now, LAST_USED_TRACKED);
  const cutoff = new Date(now - LAST_USED_RESOLUTION_MS);
  // Not awaited on purpose: its failure is caught inside, and nothing waits for it.
  void untraced(() =>
    ctx.prisma.apiToken
      .updateMany({
        where: { id: tokenId, OR: [{ lastUsedAt: null }, { lastUsedAt: { lt: cutoff } }] },
        data: { lastUsedAt: new Date(now) },
      })
      .catch(() => undefined),
  );
}
