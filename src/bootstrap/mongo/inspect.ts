/**
 * Reads what the plan compares against: the logs database's collections (with options and
 * indexes) and, with admin credentials, the application user.
 */
import { type Db, MongoClient, MongoServerError } from 'mongodb';
import type { MongoConfig } from '../../config.js';
import { mongoClientOptions } from '../../lib/db/mongo/client.js';
import type { Role } from './commands.js';
import type { LiveCollection, LiveIndex, LiveUser } from './plan.js';

export async function inspectCollections(
  db: Db,
  names: readonly string[],
): Promise<Map<string, LiveCollection>> {
  const infos = await db
    .listCollections({ name: { $in: [...names] } }, { nameOnly: false })
    .toArray();
  const live = new Map<string, LiveCollection>();
  for (const info of infos) {
    const type = info.type ?? 'collection';
    const indexes =
      type === 'collection'
        ? ((await db.collection(info.name).listIndexes().toArray()) as LiveIndex[])
        : [];
    live.set(info.name, { name: info.name, type, options: info.options ?? {}, indexes });
  }
  return live;
}

const AUTHENTICATION_FAILED = 18;

/** Whether the configured application password still authenticates. */
async function passwordWorks(config: MongoConfig): Promise<boolean> {
  const client = new MongoClient(config.url, mongoClientOptions(config, 'app'));
  try {
    await client.db(config.dbName).command({ ping: 1 });
    return true;
  } catch (error) {
    if (error instanceof MongoServerError && error.code === AUTHENTICATION_FAILED) return false;
    throw error;
  } finally {
    await client.close();
  }
}

export async function inspectAppUser(admin: MongoClient, config: MongoConfig): Promise<LiveUser> {
  const user = config.user as string;
  const reply = await admin
    .db(config.authSource)
    .command({ usersInfo: { user, db: config.authSource } });
  const found = (reply.users as { roles?: Role[] }[] | undefined)?.[0];
  if (!found) return { exists: false, roles: [], passwordCurrent: false };
  return {
    exists: true,
    roles: (found.roles ?? []).map(({ role, db }) => ({ role, db })),
    passwordCurrent: await passwordWorks(config),
  };
}
