/**
 * NovaMongoExpress under Pulumi's mocks: its container, what stays secret, the policy rules;
 * and its healthcheck script run by Node against a scripted server.
 */
import { spawn } from 'node:child_process';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as pulumi from '@pulumi/pulumi';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolved, resource, secretValue, useMocks } from './mocks.js';

await useMocks();
const {
  MONGO_EXPRESS_CONTAINER,
  MONGO_EXPRESS_USER,
  mongoExpressCheck,
  mongoExpressContainerArgs,
  NovaMongoExpress,
} = await import('../../infra/mongo-express.js');
const { readSettings } = await import('../../infra/settings.js');
const { longRunningViolations, plainTextSecretViolations, portViolations } = await import(
  '../../infra/policy/rules.js'
);

const CONTAINER = 'docker:index/container:Container';
const ROOT_URL =
  'mongodb://root:generated-root@nova-mongodb-1:27017,nova-mongodb-2:27017,nova-mongodb-3:27017/?replicaSet=rs0&authSource=admin';
let mongoExpress: InstanceType<typeof NovaMongoExpress>;

beforeAll(async () => {
  mongoExpress = new NovaMongoExpress('mongo-express', {
    settings: readSettings({ mongoExpress: 'true' }),
    network: 'nova',
    mongoUrl: pulumi.secret(ROOT_URL),
  });
  await resolved(mongoExpress.container.id);
});

describe('NovaMongoExpress', () => {
  it('runs the pinned image by its id as nova-mongo-express, on 127.0.0.1:8081 only', () => {
    const { inputs } = resource(CONTAINER, 'mongo-express');
    expect(inputs).toMatchObject({
      name: MONGO_EXPRESS_CONTAINER,
      image: 'sha256:mongo-express-image',
      restart: 'unless-stopped',
      memory: 256,
      ports: [{ internal: 8081, external: 8081, ip: '127.0.0.1' }],
      networksAdvanced: [{ name: 'nova', aliases: ['nova-mongo-express'] }],
      wait: true,
    });
    expect(
      resource('docker:index/remoteImage:RemoteImage', 'mongo-express-image').inputs,
    ).toMatchObject({ name: 'mongo-express:1.0.2' });
    expect(mongoExpress.url).toBe('http://127.0.0.1:8081');
  });

  it('passes the policy rules: healthcheck, memory limit, no port on every interface', () => {
    const { inputs } = resource(CONTAINER, 'mongo-express');
    expect(longRunningViolations(inputs)).toEqual([]);
    expect(portViolations(inputs, { allowPublicBind: false })).toEqual([]);
  });

  it('connects with the root URL and a generated login, every one of them secret', async () => {
    const { inputs } = resource(CONTAINER, 'mongo-express');
    const envs = secretValue(inputs.envs) as string[];
    expect(envs).toEqual(
      expect.arrayContaining([
        `ME_CONFIG_MONGODB_URL=${ROOT_URL}`,
        'ME_CONFIG_MONGODB_ENABLE_ADMIN=true',
        'ME_CONFIG_BASICAUTH=true',
        'ME_CONFIG_BASICAUTH_ENABLED=true',
        `ME_CONFIG_BASICAUTH_USERNAME=${MONGO_EXPRESS_USER}`,
        'ME_CONFIG_BASICAUTH_PASSWORD=generated-mongo-express-password',
        'ME_CONFIG_SITE_COOKIESECRET=generated-mongo-express-cookie-secret',
        'ME_CONFIG_SITE_SESSIONSECRET=generated-mongo-express-session-secret',
      ]),
    );
    // A set SERVER makes Mongo Express ignore the URL.
    expect(envs.some((e) => e.startsWith('ME_CONFIG_MONGODB_SERVER='))).toBe(false);
    expect(await pulumi.isSecret(mongoExpress.password)).toBe(true);
    expect(await resolved(mongoExpress.password)).toBe('generated-mongo-express-password');
    expect(mongoExpress.username).toBe('nova-admin');
  });

  it('checks health with the login read inside node: no password in the check', () => {
    const { inputs } = resource(CONTAINER, 'mongo-express');
    const { tests } = inputs.healthcheck as { tests: string[] };
    expect(tests.slice(0, 3)).toEqual(['CMD', 'node', '-e']);
    expect(tests[3]).toContain('process.env');
    expect(tests[3]).toContain('http://127.0.0.1:8081/');
    expect(JSON.stringify(inputs.healthcheck)).not.toContain('generated-');
  });
});

describe('mongoExpressContainerArgs', () => {
  it('makes every credential entry a secret even when handed plain values', async () => {
    const args = mongoExpressContainerArgs(
      readSettings({ bindAddress: '127.0.0.3', mongoExpressPort: '18081' }),
      {
        image: 'i',
        network: 'n',
        mongoUrl: 'mongodb://root:plain@h:27017/',
        password: 'plain',
        cookieSecret: 'plain',
        sessionSecret: 'plain',
      },
    );
    const entries = await Promise.all(
      (args.envs as pulumi.Input<string>[]).map(async (entry) => ({
        text: await resolved(pulumi.output(entry)),
        secret: await pulumi.isSecret(pulumi.output(entry)),
      })),
    );
    expect(entries.filter((e) => e.text.includes('plain')).map((e) => e.secret)).toEqual([
      true,
      true,
      true,
      true,
    ]);
    expect(plainTextSecretViolations(MONGO_EXPRESS_CONTAINER, entries)).toEqual([]);
    expect(args.ports).toEqual([{ internal: 8081, external: 18081, ip: '127.0.0.3' }]);
  });
});

describe('the healthcheck script', () => {
  const seen: IncomingHttpHeaders[] = [];
  let status = 200;
  const server = createServer((request, response) => {
    seen.push(request.headers);
    response.writeHead(status).end();
  });
  let port = 0;

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  // Not spawnSync: the scripted server answers from this process's event loop.
  const run = (to: number) =>
    new Promise<number | null>((resolve) => {
      const check = spawn(process.execPath, ['-e', mongoExpressCheck(to)], {
        env: { ME_CONFIG_BASICAUTH_USERNAME: 'nova-admin', ME_CONFIG_BASICAUTH_PASSWORD: 's3cret' },
        stdio: 'ignore',
        timeout: 10_000,
      });
      check.on('close', resolve);
    });

  it('exits 0 on 200, sending the login as basic auth', async () => {
    status = 200;
    expect(await run(port)).toBe(0);
    expect(seen.at(-1)?.authorization).toBe(
      `Basic ${Buffer.from('nova-admin:s3cret').toString('base64')}`,
    );
  });

  it('exits 1 on 401, and when nothing listens', async () => {
    status = 401;
    expect(await run(port)).toBe(1);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const unused = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    expect(await run(unused)).toBe(1);
  });
});
