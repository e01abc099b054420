/**
 * The database commands `nova bootstrap mongo` runs, built as plain documents so a dry run
 * can print exactly what would be sent and tests can check each one against the MongoDB 7
 * reference:
 *
 *   create         https://www.mongodb.com/docs/v7.0/reference/command/create/
 *   createIndexes  https://www.mongodb.com/docs/v7.0/reference/command/createIndexes/
 *   collMod        https://www.mongodb.com/docs/v7.0/reference/command/collMod/
 *                  (index: { keyPattern, expireAfterSeconds } changes a TTL in place; a
 *                  createIndex with new options would fail with IndexOptionsConflict)
 *   dropIndexes    https://www.mongodb.com/docs/v7.0/reference/command/dropIndexes/
 *   createUser / updateUser   https://www.mongodb.com/docs/v7.0/reference/command/createUser/
 */
import type { Document } from 'mongodb';
import type { CollectionSpec, IndexSpec } from '../../lib/db/mongo/collection-specs.js';

export interface Role {
  role: string;
  db: string;
}

export const createCollectionCommand = (spec: CollectionSpec): Document => ({
  create: spec.name,
  validator: spec.validator,
  validationLevel: spec.validationLevel,
  validationAction: spec.validationAction,
});

export const setValidatorCommand = (spec: CollectionSpec): Document => ({
  collMod: spec.name,
  validator: spec.validator,
  validationLevel: spec.validationLevel,
  validationAction: spec.validationAction,
});

/**
 * On a replica set, `commitQuorum: 'majority'`: the default (votingMembers) waits for every
 * voting member to build the index, so with one of them down a build on a non-empty
 * collection never commits. A standalone refuses commitQuorum altogether.
 */
export const createIndexesCommand = (
  collection: string,
  indexes: readonly IndexSpec[],
  { replicaSet }: { replicaSet: boolean } = { replicaSet: false },
): Document => ({
  createIndexes: collection,
  indexes: indexes.map((index) => ({
    key: index.key,
    name: index.name,
    ...(index.expireAfterSeconds === undefined
      ? {}
      : { expireAfterSeconds: index.expireAfterSeconds }),
  })),
  ...(replicaSet ? { commitQuorum: 'majority' } : {}),
});

/**
 * Sets (or, on a plain single-field index, adds) a TTL without rebuilding the index. By the
 * live index's name: a key pattern two indexes share (differing in partial filter or
 * collation) is refused as AmbiguousIndexKeyPattern (181) (coll_mod.cpp).
 */
export const changeTtlCommand = (
  collection: string,
  name: string,
  expireAfterSeconds: number,
): Document => ({ collMod: collection, index: { name, expireAfterSeconds } });

export const dropIndexCommand = (collection: string, name: string): Document => ({
  dropIndexes: collection,
  index: name,
});

/**
 * No `mechanisms`: the server's default (SCRAM-SHA-1 and SCRAM-SHA-256) lets the user log in
 * whatever authMechanism MONGO_URL names; pinning one would make a URL with the other fail
 * the password check forever.
 */
export const createUserCommand = (user: string, pwd: string, roles: Role[]): Document => ({
  createUser: user,
  pwd,
  roles,
});

export const updateUserCommand = (
  user: string,
  change: { pwd?: string; roles?: Role[] },
): Document => ({ updateUser: user, ...change });
