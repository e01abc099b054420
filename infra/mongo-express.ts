/**
 * NovaMongoExpress (optional, `nova:mongoExpress true`): Mongo Express 1.0 (pinned) in
 * `nova-mongo-express`, the design's MongoDB UI on http://127.0.0.1:8081 (the stack's bind
 * address, `nova:mongoExpressPort`), behind HTTP basic auth with a generated login
 * (https://github.com/mongo-express/mongo-express-docker#configuration).
 *
 * It connects as MongoDB's root user, through the replica set's URL: an administration UI
 * lists every database (`listDatabases`, ME_CONFIG_MONGODB_ENABLE_ADMIN), which the
 * application's user may not do. Mongo Express's own README calls it a tool for private
 * development use (documents are evaluated as JavaScript on its server): it is off by
 * default, published on the bind address only, and never without its login.
 *
 * The URL (root's password in it), the login's password and the cookie and session secrets
 * are Pulumi secrets throughout; the login is a stack output (`--show-secrets`).
 */
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { generatedPassword, goDuration, pulledImage, runtimeLimits } from './common.js';
import { publishedUrl } from './network.js';
import type { StackSettings } from './settings.js';

export const MONGO_EXPRESS_CONTAINER = 'nova-mongo-express';
/** The basic-auth login's user name. */
export const MONGO_EXPRESS_USER = 'nova-admin';
/** The image's port (it listens on 0.0.0.0, VCAP_APP_HOST in the image). */
const PORT = 8081;

export interface MongoExpressContainerInputs {
  image: pulumi.Input<string>;
  network: pulumi.Input<string>;
  /** Secrets, kept so in the container's environment. */
  mongoUrl: pulumi.Input<string>;
  password: pulumi.Input<string>;
  cookieSecret: pulumi.Input<string>;
  sessionSecret: pulumi.Input<string>;
}

/** The URL a browser on the operator's machine opens. */
export const mongoExpressUrl = ({ bindAddress, mongoExpress }: StackSettings) =>
  publishedUrl(bindAddress, mongoExpress.port);

/**
 * The healthcheck: an authenticated GET of the database list, in the image's own Node.js.
 * The credentials are read from the container's environment inside node, so the check's
 * definition holds no password and none is on a command line (wget would need it as an
 * argument); a 200 means the login works and MongoDB answers. Not the unauthenticated
 * /status route: not every 1.0 release serves it (mongo-express/mongo-express-docker#127).
 */
export const mongoExpressCheck = (port: number) =>
  [
    'const { ME_CONFIG_BASICAUTH_USERNAME: u, ME_CONFIG_BASICAUTH_PASSWORD: p } = process.env;',
    "const authorization = 'Basic ' + Buffer.from(u + ':' + p).toString('base64');",
    `fetch('http://127.0.0.1:${port}/', { headers: { authorization } })`,
    '.then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1));',
  ].join(' ');

export function mongoExpressContainerArgs(
  settings: StackSettings,
  inputs: MongoExpressContainerInputs,
): docker.ContainerArgs {
  const { image, network, mongoUrl, password, cookieSecret, sessionSecret } = inputs;
  return {
    name: MONGO_EXPRESS_CONTAINER,
    image,
    restart: 'unless-stopped',
    ...runtimeLimits(settings.mongoExpress.memoryMb, 30),
    envs: [
      // Only the URL: a set ME_CONFIG_MONGODB_SERVER makes older releases ignore it.
      pulumi.secret(pulumi.interpolate`ME_CONFIG_MONGODB_URL=${mongoUrl}`),
      'ME_CONFIG_MONGODB_ENABLE_ADMIN=true',
      // 1.0.2 reads ME_CONFIG_BASICAUTH (its image sets it); later releases the _ENABLED form.
      'ME_CONFIG_BASICAUTH=true',
      'ME_CONFIG_BASICAUTH_ENABLED=true',
      `ME_CONFIG_BASICAUTH_USERNAME=${MONGO_EXPRESS_USER}`,
      pulumi.secret(pulumi.interpolate`ME_CONFIG_BASICAUTH_PASSWORD=${password}`),
      // The image's defaults are the words "secret" and "cookiesecret".
      pulumi.secret(pulumi.interpolate`ME_CONFIG_SITE_COOKIESECRET=${cookieSecret}`),
      pulumi.secret(pulumi.interpolate`ME_CONFIG_SITE_SESSIONSECRET=${sessionSecret}`),
    ],
    ports: [{ internal: PORT, external: settings.mongoExpress.port, ip: settings.bindAddress }],
    networksAdvanced: [{ name: network, aliases: [MONGO_EXPRESS_CONTAINER] }],
    healthcheck: {
      tests: ['CMD', 'node', '-e', mongoExpressCheck(PORT)],
      interval: goDuration(10),
      timeout: goDuration(5),
      retries: 12,
      startPeriod: goDuration(30),
    },
    wait: true,
    waitTimeout: 180,
  };
}

export interface NovaMongoExpressArgs {
  settings: StackSettings;
  /** The stack's Docker network (its name). */
  network: pulumi.Input<string>;
  /**
   * mongodb://root:…@nova-mongodb-1:27017,…/?replicaSet=rs0&authSource=admin: a secret.
   * Make the component after the replica set is initiated (dependsOn), or Mongo Express
   * starts against a set with no primary.
   */
  mongoUrl: pulumi.Input<string>;
}

export class NovaMongoExpress extends pulumi.ComponentResource {
  readonly container: docker.Container;
  /** The URL a browser on the operator's machine opens. */
  readonly url: string;
  /** The basic-auth login: MONGO_EXPRESS_USER and a generated password (a secret). */
  readonly username: string;
  readonly password: pulumi.Output<string>;

  constructor(name: string, args: NovaMongoExpressArgs, opts?: pulumi.ComponentResourceOptions) {
    super('nova:index:NovaMongoExpress', name, {}, opts);
    const { settings, network, mongoUrl } = args;
    const password = generatedPassword(`${name}-password`, this);
    const secret = (purpose: string) => generatedPassword(`${name}-${purpose}`, this, 48);
    const image = pulledImage(`${name}-image`, settings.images.mongoExpress, this);
    // A component's dependsOn does not hold back its children: the container waits itself.
    this.container = new docker.Container(
      name,
      mongoExpressContainerArgs(settings, {
        image: image.imageId,
        network,
        mongoUrl,
        password: password,
        cookieSecret: secret('cookie-secret'),
        sessionSecret: secret('session-secret'),
      }),
      { parent: this, dependsOn: opts?.dependsOn },
    );
    this.url = mongoExpressUrl(settings);
    this.username = MONGO_EXPRESS_USER;
    this.password = password;
    this.registerOutputs({ url: this.url, username: this.username, password: this.password });
  }
}
