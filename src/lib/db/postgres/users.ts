/**
 * Users: create, update, deactivate, read. Every write is one transaction holding the row
 * and its AuditLog entry. Emails are unique regardless of letter case (citext column).
 */
import { z } from 'zod';
import type { Prisma } from '../../../generated/prisma/client.js';
import { NovaError } from '../../errors.js';
import { optionalText, parseInput, text, uuid } from '../../validation.js';
import { type Actor, auditData } from './audit.js';
import type { PgContext } from './context.js';
import { committedEarlier, isRecordNotFound, uniqueViolationFields } from './errors.js';
import { insertAudit, insertUser, inTransaction } from './sql.js';

const email = z
  .string()
  .trim()
  .max(254, 'must be at most 254 characters')
  .pipe(z.email({ message: 'must be a valid email address' }));

const createUserInput = z.strictObject({
  email,
  firstName: text(100),
  lastName: text(100),
  displayName: optionalText(200),
  /** A hash produced by the auth layer (argon2id, bcrypt, ...); never a plain password. */
  passwordHash: z.string().min(20).max(255).nullish(),
  active: z.boolean().optional(),
});
export type CreateUserInput = z.input<typeof createUserInput>;

const updateUserInput = createUserInput
  .omit({ active: true })
  .partial()
  .extend({ lastLoginAt: z.date().nullish() });
export type UpdateUserInput = z.input<typeof updateUserInput>;

/** Read shape: everything but passwordHash (which the client omits by default). */
export type UserRecord = Prisma.UserGetPayload<{ omit: { passwordHash: true } }>;

function emailTaken(error: unknown, address: string): never | void {
  const fields = uniqueViolationFields(error);
  if (fields !== undefined) {
    throw new NovaError('ALREADY_EXISTS', `a user with email ${address} already exists`, {
      field: 'email',
      cause: error,
    });
  }
}

export async function createUser(
  ctx: PgContext,
  input: CreateUserInput,
  actor?: Actor,
): Promise<UserRecord> {
  const data = parseInput(createUserInput, input);
  // Ids and timestamps are set here so the audit row describes the user exactly without a
  // read-back. High-volume create: plain SQL on the shared pool (see ./sql.ts for why).
  const now = new Date();
  const user: UserRecord = {
    id: crypto.randomUUID(),
    email: data.email,
    firstName: data.firstName,
    lastName: data.lastName,
    displayName: data.displayName ?? null,
    active: data.active ?? true,
    lastLoginAt: null,
    createdAt: now,
    updatedAt: now,
  };
  const audit = auditData(
    {
      action: 'user.created',
      entityType: 'user',
      entityId: user.id,
      after: { ...user, passwordHash: data.passwordHash ? 'set' : null },
    },
    actor,
  );
  return ctx.run('createUser', async () => {
    try {
      await inTransaction(ctx.pool, async (client) => {
        await insertUser(client, { ...user, passwordHash: data.passwordHash ?? null });
        await insertAudit(client, audit);
      });
      return user;
    } catch (error) {
      // The id is fixed across retries: if a retry collides with a row carrying our own id,
      // an earlier attempt committed and only its reply was lost. That is success.
      const own = () =>
        ctx.prisma.user.findUnique({ where: { id: user.id }, select: { id: true } });
      if (await committedEarlier(error, own)) return user;
      emailTaken(error, data.email);
      throw error;
    }
  });
}

async function changeUser(
  ctx: PgContext,
  operation: string,
  id: string,
  data: Prisma.UserUpdateInput,
  action: string,
  actor?: Actor,
): Promise<UserRecord> {
  const userId = parseInput(uuid, id, 'id');
  return ctx
    .run(operation, () =>
      ctx.prisma.$transaction(async (tx) => {
        const before = await tx.user.findUnique({ where: { id: userId } });
        if (!before) throw new NovaError('NOT_FOUND', `user ${userId} not found`, { field: 'id' });
        try {
          const after = await tx.user.update({ where: { id: userId }, data });
          await tx.auditLog.create({
            data: auditData({ action, entityType: 'user', entityId: userId, before, after }, actor),
          });
          return after;
        } catch (error) {
          if (typeof data.email === 'string') emailTaken(error, data.email);
          if (isRecordNotFound(error)) {
            throw new NovaError('NOT_FOUND', `user ${userId} not found`, { field: 'id' });
          }
          throw error;
        }
      }),
    )
    .then((after) => {
      // A user (de)activated: their cached principals go at once in this process (others drop
      // them on the trigger's notification).
      if ('active' in data) ctx.principals?.invalidate(`user:${userId}`);
      return after;
    });
}

export async function updateUser(
  ctx: PgContext,
  id: string,
  patch: UpdateUserInput,
  actor?: Actor,
) {
  const data = parseInput(updateUserInput, patch);
  return changeUser(ctx, 'updateUser', id, data, 'user.updated', actor);
}

/** Deactivated users keep their data and audit trail but lose every permission. */
export async function deactivateUser(ctx: PgContext, id: string, actor?: Actor) {
  return changeUser(ctx, 'deactivateUser', id, { active: false }, 'user.deactivated', actor);
}

export async function getUser(ctx: PgContext, id: string): Promise<UserRecord | null> {
  const userId = parseInput(uuid, id, 'id');
  return ctx.run('getUser', () => ctx.prisma.user.findUnique({ where: { id: userId } }));
}

export async function findUserByEmail(ctx: PgContext, address: string): Promise<UserRecord | null> {
  const value = parseInput(email, address, 'email');
  return ctx.run('findUserByEmail', () => ctx.prisma.user.findUnique({ where: { email: value } }));
}
