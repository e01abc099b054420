/**
 * NovaMongoReplicaSet, its members: MongoDB 7.0 (pinned) in `nova-mongodb-<n>` (1 or 3),
 * each with `--replSet`, `--auth` and one keyFile, generated once and kept as a Pulumi secret,
 * uploaded byte-identical into every member with the owner and mode mongod demands (the
 * official image's mongodb user, uid 999, mode 0400: mongod refuses a key others can read).
 * Member host names are the container names, aliased on the stack network, so every client
 * on it (the service, the bootstrap step) resolves the names `rs.conf()` will hold.
 *
 * Each member gets the root user from MONGO_INITDB_ROOT_* at its first start (the image
 * creates it before the replica set exists, without --replSet); then a script run inside
 * the first member initiates the set, idempotently (mongo-init.ts). The application user is
 * the bootstrap step's (`nova bootstrap mongo`).
 *
 * The arguments are pure functions (tested directly); the component makes the secrets, the
 * image, the volumes and the containers from them.
 */
import * as command from '@pulumi/command';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword, goDuration, pulledImage, runtimeLimits } from './common.js';
import { mongoInitCommandArgs } from './mongo-init.js';
import {
  MONGO_KEYFILE,
  MONGO_ROOT_USER,
  MONGODB_UID,
  mongoMemberHost,
  mongoMemberName,
  mongoMemberPort,
} from './names.js';
import type { StackSettings } from './settings.js';

export { MONGO_KEYFILE, mongoMemberName };

/** `nova-mongodb-1:27017,nova-mongodb-2:27018,…`: the seed list, as clients reach it. */
export function mongoHosts({ mongo }: StackSettings): string {
  return Array.from({ length: mongo.members }, (_, i) => mongoMemberHost(i + 1)).join(',');
}

export interface MongoMemberInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  volume: pulumi.Input<string>;
  /** Secrets; they stay secrets in the container's upload and environment. */
  keyFile: pulumi.Input<string>;
  rootPassword: pulumi.Input<string>;
}

export function mongoMemberArgs(
  { mongo, bindAddress }: StackSettings,
  n: number,
  { image, network, volume, keyFile, rootPassword }: MongoMemberInputs,
): docker.ContainerArgs {
  const name = mongoMemberName(n);
  const port = mongoMemberPort(n);
  return {
    name,
    image,
    restart: 'unless-stopped',
    ...runtimeLimits(mongo.memoryMb, 60),
    // The uploaded keyFile's owner is the provider's to apply (its `owner`/`group`, resolved
    // on the machine running Pulumi); mongod, dropped to the mongodb user by the image's
    // entrypoint, exits at start on a key it cannot read or that others can. So the owner and
    // mode are set again here, as root, before the image's own entrypoint runs: a first start
    // does not depend on how a provider release writes the file. The initiate step reads
    // them back (mongo-init.ts).
    entrypoints: [
      'sh',
      '-c',
      `chown ${MONGODB_UID}:${MONGODB_UID} ${MONGO_KEYFILE} && chmod 0400 ${MONGO_KEYFILE} && exec docker-entrypoint.sh "$@"`,
      'docker-entrypoint.sh',
    ],
    command: [
      'mongod',
      '--replSet',
      mongo.replicaSet,
      '--port',
      String(port),
      '--bind_ip_all',
      '--auth',
      '--keyFile',
      MONGO_KEYFILE,
    ],
    envs: [
      `MONGO_INITDB_ROOT_USERNAME=${MONGO_ROOT_USER}`,
      pulumi.secret(pulumi.interpolate`MONGO_INITDB_ROOT_PASSWORD=${rootPassword}`),
    ],
    uploads: [
      {
        file: MONGO_KEYFILE,
        content: pulumi.secret(keyFile),
        owner: MONGODB_UID,
        group: MONGODB_UID,
        permissions: '0400',
      },
    ],
    volumes: [{ volumeName: volume, containerPath: '/data/db' }],
    networksAdvanced: [{ name: network, aliases: [name] }],
    ...(mongo.hostAccess ? { ports: [{ internal: port, external: port, ip: bindAddress }] } : {}),
    // Authenticated (a member whose keyFile or users are broken must not look healthy), with
    // the password read inside mongosh (never on a command line `ps` shows), and through the
    // container's own host name: the image's first-start mongod listens on 127.0.0.1 only,
    // and must not count as the member being up.
    healthcheck: {
      tests: [
        'CMD-SHELL',
        `mongosh --quiet "mongodb://$(hostname):${port}/admin?directConnection=true" --eval 'db.auth("${MONGO_ROOT_USER}", process.env.MONGO_INITDB_ROOT_PASSWORD); quit(db.adminCommand({ ping: 1 }).ok === 1 ? 0 : 1)'`,
      ],
      interval: goDuration(10),
      timeout: goDuration(10),
      retries: 12,
      startPeriod: goDuration(40),
    },
    wait: true,
    waitTimeout: 240,
  };
}

export interface NovaMongoArgs {
  settings: StackSettings;
  network: pulumi.Input<string>;
}

export class NovaMongoReplicaSet extends pulumi.ComponentResource {
  readonly members: docker.Container[];
  /** The root user's password; a secret (for the bootstrap step). */
  readonly rootPassword: pulumi.Output<string>;
  /** The members as clients on the stack network list them (no credentials). */
  readonly hosts: string;
  /** The initiate step: what depends on a primary (users, the application) waits for it. */
  readonly initiated: command.local.Command;
  /** The initiate step's report, once the set is initiated and every member healthy. */
  readonly ready: pulumi.Output<string>;

  constructor(
    name: string,
    { settings, network }: NovaMongoArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('nova:index:NovaMongoReplicaSet', name, {}, opts);
    const parent = { parent: this };
    // 756 characters of the base64 alphabet: a valid keyFile (6 to 1024), made once per stack.
    const keyFile = generatedPassword(`${name}-keyfile`, this, 756);
    const root = generatedPassword(`${name}-root-password`, this);
    const image = pulledImage(`${name}-image`, settings.images.mongo, this);
    this.members = Array.from({ length: settings.mongo.members }, (_, i) => {
      const n = i + 1;
      const volume = new docker.Volume(
        `${name}-${n}-data`,
        { name: `${mongoMemberName(n)}-data` },
        parent,
      );
      return new docker.Container(
        `${name}-${n}`,
        mongoMemberArgs(settings, n, {
          image: image.imageId,
          network,
          volume: volume.name,
          keyFile: keyFile,
          rootPassword: root,
        }),
        parent,
      );
    });
    this.initiated = new command.local.Command(
      `${name}-init`,
      mongoInitCommandArgs(
        settings,
        this.members.map((member) => member.id),
      ),
      { ...parent, dependsOn: this.members },
    );
    this.ready = this.initiated.stdout;
    this.rootPassword = root;
    this.hosts = mongoHosts(settings);
    this.registerOutputs({ rootPassword: this.rootPassword, hosts: this.hosts, ready: this.ready });
  }
}
