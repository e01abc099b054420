/**
 * NovaPostgres: PostgreSQL 15 (pinned) in `nova-postgres`, its data in a named volume,
 * pg_stat_statements loaded, healthy once the real server (not the image's first-start one)
 * accepts TCP connections, and never published on the host: clients reach it over the stack's
 * network.
 *
 * The container's arguments are a pure function (tested directly); the component only makes
 * the password, the image, the volume and the container from them.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword, goDuration, pulledImage, runtimeLimits } from './common.js';
import { APP_USER } from './names.js';
import type { StackSettings } from './settings.js';

export const POSTGRES_CONTAINER = 'nova-postgres';
const DATA_DIR = '/var/lib/postgresql/data';

export interface PostgresContainerInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  volume: pulumi.Input<string>;
  /** A Pulumi secret; it stays one in the container's environment. */
  password: pulumi.Input<string>;
}

export function postgresContainerArgs(
  { postgres }: StackSettings,
  { image, network, volume, password }: PostgresContainerInputs,
): docker.ContainerArgs {
  return {
    name: POSTGRES_CONTAINER,
    image,
    restart: 'unless-stopped',
    ...runtimeLimits(postgres.memoryMb, 60),
    envs: [
      `POSTGRES_DB=${postgres.database}`,
      `POSTGRES_USER=${postgres.user}`,
      pulumi.secret(pulumi.interpolate`POSTGRES_PASSWORD=${password}`),
    ],
    command: [
      'postgres',
      '-c',
      'shared_preload_libraries=pg_stat_statements',
      '-c',
      'pg_stat_statements.track=top',
    ],
    volumes: [{ volumeName: volume, containerPath: DATA_DIR }],
    networksAdvanced: [{ name: network, aliases: ['postgres'] }],
    // Over TCP: during its first start the image runs a socket-only temporary server, which
    // a socket check would already call ready. pg_isready asks whether the server accepts
    // connections; it does not log in (bad credentials or a missing database still answer
    // "accepting"), which the bootstrap step, next, does.
    healthcheck: {
      tests: ['CMD', 'pg_isready', '-h', '127.0.0.1', '-U', postgres.user, '-d', postgres.database],
      interval: goDuration(5),
      timeout: goDuration(5),
      retries: 10,
      startPeriod: goDuration(30),
    },
    wait: true,
    waitTimeout: 180,
  };
}

export interface NovaPostgresArgs {
  settings: StackSettings;
  /** The stack's Docker network (its name). */
  network: pulumi.Input<string>;
}

export class NovaPostgres extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /**
   * postgresql://… as containers on the stack's network reach it, logged in as the
   * application role (APP_USER, which `nova bootstrap` creates): the service's; a secret.
   */
  readonly url: pulumi.Output<string>;
  /** The same as the image's user (POSTGRES_USER), the schema's owner: the bootstrap's. */
  readonly ownerUrl: pulumi.Output<string>;

  constructor(
    name: string,
    { settings, network }: NovaPostgresArgs,
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super('nova:index:NovaPostgres', name, {}, opts);
    const parent = { parent: this };
    const password = generatedPassword(`${name}-password`, this);
    const image = pulledImage(`${name}-image`, settings.images.postgres, this);
    // `pulumi destroy` deletes the data with the volume: the passwords live in the stack's
    // state and are generated anew on the next `up`, so kept data could not be logged into.
    const volume = new docker.Volume(
      `${name}-data`,
      { name: `${POSTGRES_CONTAINER}-data` },
      parent,
    );
    this.container = new docker.Container(
      name,
      postgresContainerArgs(settings, {
        image: image.imageId,
        network,
        volume: volume.name,
        password: password,
      }),
      parent,
    );
    const { user, database } = settings.postgres;
    const at = `@${POSTGRES_CONTAINER}:5432/${database}`;
    this.ownerUrl = pulumi.secret(pulumi.interpolate`postgresql://${user}:${password}${at}`);
    const appPassword = generatedPassword(`${name}-app-password`, this);
    this.url = pulumi.secret(pulumi.interpolate`postgresql://${APP_USER}:${appPassword}${at}`);
    this.registerOutputs({ url: this.url, ownerUrl: this.ownerUrl });
  }
}
