/**
 * WebAuthn passkeys: register, list, record a use, remove.
 *
 * Sign counter rule (WebAuthn Level 3, §6.1.1): when either the stored or the presented
 * signCount is non-zero, the presented one must be greater, otherwise the credential may have
 * been cloned. Both zero means the authenticator has no counter (common for synced passkeys)
 * and is accepted. The check and the update are one conditional UPDATE, so two concurrent
 * assertions cannot both pass with the same counter.
 */
import { z } from 'zod';
import type { PasskeyDeviceType } from '../../../generated/prisma/enums.js';
import { NovaError } from '../../errors.js';
import { optionalText, parseInput, uuid } from '../../validation.js';
import { type Actor, auditData } from './audit.js';
import type { PgContext } from './context.js';
import { isForeignKeyViolation, uniqueViolationFields } from './errors.js';

const bytes = (max: number) =>
  z
    .instanceof(Uint8Array, { message: 'must be bytes (Uint8Array)' })
    .refine((value) => value.length > 0 && value.length <= max, `must be 1-${max} bytes`);

const signCount = z
  .union([z.bigint(), z.number().int()])
  .transform((value) => BigInt(value))
  .refine((value) => value >= 0n && value <= 0xffffffffn, 'must be a 32-bit unsigned integer');

const registerPasskeyInput = z.strictObject({
  credentialId: bytes(1023),
  publicKey: bytes(4096),
  signCount: signCount.default(0n),
  transports: z
    .array(z.enum(['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal', 'cable']))
    .max(8)
    .default([]),
  deviceType: z.enum(['singleDevice', 'multiDevice'] satisfies PasskeyDeviceType[]),
  backedUp: z.boolean().default(false),
  // AAGUIDs are 16 arbitrary bytes in UUID notation, not RFC 9562 UUIDs: any 8-4-4-4-12 hex.
  aaguid: z.guid({ message: 'must be 8-4-4-4-12 hex digits' }).nullish(),
  nickname: optionalText(100),
});
export type RegisterPasskeyInput = z.input<typeof registerPasskeyInput>;

/** What lists return: no public key (verification fetches it by credential id). */
const summary = {
  id: true,
  userId: true,
  credentialId: true,
  signCount: true,
  transports: true,
  deviceType: true,
  backedUp: true,
  aaguid: true,
  nickname: true,
  createdAt: true,
  lastUsedAt: true,
} as const;

/** Metadata safe for the audit trail: never key material. */
const auditView = (p: {
  id: string;
  deviceType: string;
  backedUp: boolean;
  nickname: string | null;
  signCount: bigint;
}) => ({
  id: p.id,
  deviceType: p.deviceType,
  backedUp: p.backedUp,
  nickname: p.nickname,
  signCount: p.signCount,
});

export async function registerPasskey(
  ctx: PgContext,
  userId: string,
  input: RegisterPasskeyInput,
  actor?: Actor,
) {
  const owner = parseInput(uuid, userId, 'userId');
  const data = parseInput(registerPasskeyInput, input);
  // Fixed across retries: a collision with a row of this owner created at this very instant
  // is our own earlier attempt whose COMMIT reply was lost, not a duplicate registration.
  const createdAt = new Date();
  let attempts = 0;
  return ctx.run('registerPasskey', () =>
    ctx.prisma
      .$transaction(async (tx) => {
        attempts++;
        const passkey = await tx.passkey.create({
          data: {
            ...data,
            userId: owner,
            aaguid: data.aaguid ?? null,
            createdAt,
            nickname: data.nickname ?? null,
          },
          select: summary,
        });
        await tx.auditLog.create({
          data: auditData(
            {
              action: 'passkey.registered',
              entityType: 'user',
              entityId: owner,
              after: auditView(passkey),
            },
            actor,
          ),
        });
        return passkey;
      })
      .catch(async (error: unknown) => {
        if (uniqueViolationFields(error) !== undefined) {
          const stored = await ctx.prisma.passkey.findUnique({
            where: { credentialId: data.credentialId },
            select: summary,
          });
          // Only after a retry: on a first attempt a collision is always a real duplicate.
          const ours =
            attempts > 1 &&
            stored?.userId === owner &&
            stored.createdAt.getTime() === createdAt.getTime();
          if (stored && ours) return stored;
          throw new NovaError('ALREADY_EXISTS', 'this credential is already registered', {
            field: 'credentialId',
            cause: error,
          });
        }
        if (isForeignKeyViolation(error)) {
          throw new NovaError('NOT_FOUND', `user ${owner} not found`, {
            field: 'userId',
            cause: error,
          });
        }
        throw error;
      }),
  );
}

export async function listPasskeys(ctx: PgContext, userId: string) {
  const owner = parseInput(uuid, userId, 'userId');
  return ctx.run('listPasskeys', () =>
    ctx.prisma.passkey.findMany({
      where: { userId: owner },
      select: summary,
      orderBy: { createdAt: 'asc' },
    }),
  );
}

/** The full credential, public key included, for verifying an assertion. */
export async function findPasskeyForVerification(ctx: PgContext, credentialId: Uint8Array) {
  const id = parseInput(bytes(1023), credentialId, 'credentialId');
  return ctx.run('findPasskeyForVerification', () =>
    ctx.prisma.passkey.findUnique({ where: { credentialId: id } }),
  );
}

/**
 * Records a successful assertion. Throws PASSKEY_COUNTER_NOT_INCREASED (and writes an audit
 * row, committed on its own so the rejection does not roll it back) when the counter did not
 * increase.
 */
export async function recordPasskeyUse(
  ctx: PgContext,
  credentialId: Uint8Array,
  newSignCount: bigint | number,
  actor?: Actor,
) {
  const id = parseInput(bytes(1023), credentialId, 'credentialId');
  const count = parseInput(signCount, newSignCount, 'signCount');
  const now = new Date();
  let attempts = 0;
  const updated = await ctx.run('recordPasskeyUse', () => {
    attempts++;
    return ctx.prisma.passkey.updateMany({
      where: { credentialId: id, signCount: count === 0n ? 0n : { lt: count } },
      data: { signCount: count, lastUsedAt: now },
    });
  });
  if (updated.count === 1) return { signCount: count, lastUsedAt: now };

  const stored = await ctx.run('recordPasskeyUse', () =>
    ctx.prisma.passkey.findUnique({ where: { credentialId: id }, select: summary }),
  );
  if (!stored) throw new NovaError('NOT_FOUND', 'unknown credential', { field: 'credentialId' });
  // Our own update, committed by an earlier attempt whose reply was lost: lastUsedAt is this
  // call's. Only possible after a retry; on a first attempt an equal counter is never ours
  // (a concurrent assertion in the same millisecond would share the timestamp).
  if (
    attempts > 1 &&
    stored.signCount === count &&
    stored.lastUsedAt?.getTime() === now.getTime()
  ) {
    return { signCount: count, lastUsedAt: now };
  }
  await ctx.run('recordPasskeyUse', () =>
    ctx.prisma.auditLog.create({
      data: auditData(
        {
          action: 'passkey.counter_not_increased',
          entityType: 'user',
          entityId: stored.userId,
          before: auditView(stored),
          after: { presentedSignCount: count, suspectedClone: true },
        },
        actor,
      ),
    }),
  );
  throw new NovaError(
    'PASSKEY_COUNTER_NOT_INCREASED',
    `signature counter did not increase (stored ${stored.signCount}, presented ${count}): possible cloned authenticator`,
    { field: 'signCount' },
  );
}

export async function removePasskey(ctx: PgContext, passkeyId: string, actor?: Actor) {
  const id = parseInput(uuid, passkeyId, 'id');
  return ctx.run('removePasskey', () =>
    ctx.prisma.$transaction(async (tx) => {
      const passkey = await tx.passkey.findUnique({ where: { id }, select: summary });
      if (!passkey) throw new NovaError('NOT_FOUND', `passkey ${id} not found`, { field: 'id' });
      await tx.passkey.delete({ where: { id } });
      await tx.auditLog.create({
        data: auditData(
          {
            action: 'passkey.removed',
            entityType: 'user',
            entityId: passkey.userId,
            before: auditView(passkey),
          },
          actor,
        ),
      });
      return true;
    }),
  );
}
