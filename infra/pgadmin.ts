/**
 * NovaPgAdmin (optional, `nova:pgAdmin true`): pgAdmin 4 (pinned) in `nova-pgadmin`, the
 * design's PostgreSQL UI on http://127.0.0.1:8080 (the stack's bind address,
 * `nova:pgAdminPort`), with `nova-postgres` registered from a servers.json
 * (https://www.pgadmin.org/docs/pgadmin4/latest/container_deployment.html).
 *
 * The login is generated here and stays a Pulumi secret (`pulumi stack output --show-secrets`).
 * The database password is not given to pgAdmin: servers.json cannot carry one, and a pgpass
 * file would put the application's password in one more container; the operator types it
 * once (pgAdmin can keep it, encrypted with the login).
 *
 * No volume: pgAdmin's own state (its SQLite file, preferences) lives in the container and
 * goes with it, and a new container loads servers.json again. Nothing of the data tier's is
 * in it.
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword, goDuration, pulledImage, runtimeLimits } from './common.js';
import { publishedUrl } from './network.js';
import type { StackSettings } from './settings.js';

export const PGADMIN_CONTAINER = 'nova-pgadmin';
/**
 * The login's user name: pgAdmin requires an email address and validates it (special-use
 * domains such as .local or .test are refused; example.com is not).
 */
export const PGADMIN_EMAIL = 'admin@example.com';
/** Inside the container: above 1024, so binding needs no file capability on the Python binary. */
const LISTEN_PORT = 8080;
const SERVERS_FILE = '/pgadmin4/servers.json';

/** PostgreSQL as pgAdmin reaches it on the stack network. */
export interface PgAdminServer {
  /** The container's name on the stack network: `nova-postgres`. */
  host: pulumi.Input<string>;
  database: pulumi.Input<string>;
  user: pulumi.Input<string>;
}

/** pgAdmin's servers.json: the one server, without a password (the format has none). */
export const pgAdminServers = ({ host, database, user }: PgAdminServer) =>
  pulumi.jsonStringify({
    Servers: {
      '1': {
        Name: 'Nova Universe (nova-postgres)',
        Group: 'Nova Universe',
        Host: host,
        Port: 5432,
        MaintenanceDB: database,
        Username: user,
        // The stack's PostgreSQL has no TLS; `prefer` still takes it if it is turned on.
        ConnectionParameters: { sslmode: 'prefer', connect_timeout: 10 },
      },
    },
  });

export interface PgAdminContainerInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  postgres: PgAdminServer;
  /** The login's password: a secret, and it stays one in the container's environment. */
  password: pulumi.Input<string>;
}

/** The URL a browser on the operator's machine opens. */
export const pgAdminUrl = ({ bindAddress, pgAdmin }: StackSettings) =>
  publishedUrl(bindAddress, pgAdmin.port);

export function pgAdminContainerArgs(
  settings: StackSettings,
  { image, network, postgres, password }: PgAdminContainerInputs,
): docker.ContainerArgs {
  return {
    name: PGADMIN_CONTAINER,
    image,
    restart: 'unless-stopped',
    ...runtimeLimits(settings.pgAdmin.memoryMb, 30),
    envs: [
      `PGADMIN_DEFAULT_EMAIL=${PGADMIN_EMAIL}`,
      pulumi.secret(pulumi.interpolate`PGADMIN_DEFAULT_PASSWORD=${password}`),
      // IPv4: the image's default, [::], fails where the container has no IPv6.
      'PGADMIN_LISTEN_ADDRESS=0.0.0.0',
      `PGADMIN_LISTEN_PORT=${LISTEN_PORT}`,
      `PGADMIN_SERVER_JSON_FILE=${SERVERS_FILE}`,
      // No mail server (password-reset mails), and no calls home for new versions.
      'PGADMIN_DISABLE_POSTFIX=true',
      'PGADMIN_CONFIG_UPGRADE_CHECK_ENABLED=False',
    ],
    // Read by pgAdmin's user (uid 5050), so world-readable; it holds no secret.
    uploads: [{ file: SERVERS_FILE, content: pgAdminServers(postgres), permissions: '0444' }],
    ports: [{ internal: LISTEN_PORT, external: settings.pgAdmin.port, ip: settings.bindAddress }],
    networksAdvanced: [{ name: network, aliases: [PGADMIN_CONTAINER] }],
    // /misc/ping answers without a login and is exempt from pgAdmin's session files (its
    // SESSION_SKIP_PATHS), so a check every 10 s leaves nothing behind. The image is Alpine
    // based: BusyBox's wget is there.
    healthcheck: {
      tests: ['CMD', 'wget', '-q', '-O', '/dev/null', `http://127.0.0.1:${LISTEN_PORT}/misc/ping`],
      interval: goDuration(10),
      timeout: goDuration(5),
      retries: 12,
      startPeriod: goDuration(60),
    },
    wait: true,
    waitTimeout: 240,
  };
}

export interface NovaPgAdminArgs {
  settings: StackSettings;
  /** The stack's Docker network (its name). */
  network: pulumi.Input<string>;
  /** PostgreSQL to register: `{ host: 'nova-postgres', database, user }`. */
  postgres: PgAdminServer;
}

export class NovaPgAdmin extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** The URL a browser on the operator's machine opens. */
  readonly url: string;
  /** The login: PGADMIN_EMAIL and a generated password (a secret). */
  readonly email: string;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: NovaPgAdminArgs, opts?: pulumi.ComponentResourceOptions) {
    super('nova:index:NovaPgAdmin', name, {}, opts);
    const { settings, network, postgres } = args;
    const password = generatedPassword(`${name}-password`, this);
    const image = pulledImage(`${name}-image`, settings.images.pgAdmin, this);
    // A component's dependsOn does not hold back its children: the container waits itself.
    this.container = new docker.Container(
      name,
      pgAdminContainerArgs(settings, {
        image: image.imageId,
        network,
        postgres,
        password: password,
      }),
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.url = pgAdminUrl(settings);
    this.email = PGADMIN_EMAIL;
    this.password = password;
    this.registerOutputs({ url: this.url, email: this.email, password: this.password });
  }
}
