/**
 * The whole stack under Pulumi's mocks: what starts after what, which container holds which
 * secret, what is published, and that every container passes the policy pack's rules.
 * The configuration matrix's two corners: the defaults (3 MongoDB members, 3 Elasticsearch
 * nodes, no extras) and the small stack with every extra on (1 member, 1 node, pgAdmin, Mongo
 * Express, the OpenTelemetry Collector).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { registered, resolved, resource, secretValue, useMocks } from './mocks.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

await useMocks();
const { NovaStack } = await import('../../infra/stack.js');
const { readSettings } = await import('../../infra/settings.js');
const { SECRET_VARIABLES } = await import('../../infra/environment.js');
const { KIBANA_CA_FILE, KIBANA_HEALTHCHECK } = await import('../../infra/kibana.js');
const { loadConfig } = await import('../../src/config.js');
const { HARD_EXIT_MARGIN_MS } = await import('../../src/cli/service-commands.js');
const { goDuration } = await import('../../infra/common.js');
const { credentialVariable, longRunningViolations, plainTextSecretViolations, portViolations } =
  await import('../../infra/policy/rules.js');

const CONTAINER = 'docker:index/container:Container';
const COMMAND = 'command:local:Command';

/** Each resource's explicit dependencies, by name, as the SDK hands them to the engine. */
const dependsOn = new Map<string, pulumi.Resource[]>();
/** Each container's `envs` as the program wrote them, before the SDK serializes them. */
const writtenEnvs = new Map<string, pulumi.Input<string>[]>();
/** Each container's replaceOnChanges, as the engine would be told. */
const replaceOnChanges = new Map<string, string[] | undefined>();
const recordDependencies: pulumi.ResourceTransformation = ({ name, type, props, opts }) => {
  const deps = opts.dependsOn;
  if (deps) dependsOn.set(name, (Array.isArray(deps) ? deps : [deps]) as pulumi.Resource[]);
  if (type === CONTAINER && Array.isArray(props.envs)) writtenEnvs.set(name, props.envs);
  if (type === CONTAINER) replaceOnChanges.set(name, opts.replaceOnChanges);
  return undefined;
};
const dependencyNames = (name: string) =>
  Promise.all(
    (dependsOn.get(name) ?? []).map(async (r) => (await resolved(r.urn)).split('::').at(-1)),
  );

type Stack = InstanceType<typeof NovaStack>;
let big: Stack;
let small: Stack;

beforeAll(async () => {
  big = new NovaStack(
    'big',
    { settings: readSettings({}) },
    { transformations: [recordDependencies] },
  );
  small = new NovaStack(
    'small',
    {
      settings: readSettings({
        mongoMembers: '1',
        elasticNodes: '1',
        pgAdmin: 'true',
        mongoExpress: 'true',
        otelCollector: 'true',
        traceSampleRatio: '0.25',
      }),
    },
    { transformations: [recordDependencies] },
  );
  // Registered once every container and command has an id.
  await Promise.all(
    [big, small].flatMap(({ components: c }) =>
      [
        c.postgres.container,
        ...c.mongo.members,
        ...c.elastic.nodes,
        c.bootstrap.command,
        c.bootstrap.reindex,
        c.kibana.container,
        c.service.container,
        c.dashboards,
      ].map((r) => resolved(r.id)),
    ),
  );
});

const containers = (stack: string) =>
  registered.filter((r) => r.type === CONTAINER && r.name.startsWith(`${stack}-`));
const containerNamed = (stack: string, name: string) => {
  const found = containers(stack).filter((r) => r.inputs.name === name);
  if (found.length !== 1) throw new Error(`${found.length} containers named ${name}`);
  return found[0] as (typeof found)[0];
};
/** A container's environment, unwrapped (the engine receives it as one secret). */
const envOf = (inputs: Record<string, unknown>): string[] => {
  const envs = inputs.envs;
  try {
    return secretValue(envs) as string[];
  } catch {
    return (envs ?? []) as string[];
  }
};
/** The environment as the secrets policy judges it: each entry with its secretness. */
const envSecrecy = (inputs: Record<string, unknown>) => {
  const secretOr = (value: unknown) => {
    try {
      return { text: secretValue(value) as string, secret: true };
    } catch {
      return { text: value as string, secret: false };
    }
  };
  const whole = secretOr(inputs.envs);
  if (whole.secret)
    return (whole.text as unknown as string[]).map((text) => ({ text, secret: true }));
  return ((inputs.envs ?? []) as unknown[]).map(secretOr);
};
const envNames = (inputs: Record<string, unknown>) => envOf(inputs).map((e) => e.split('=')[0]);

describe('NovaStack', () => {
  it('makes the containers the design names, once each', () => {
    const names = (stack: string) => containers(stack).map((c) => c.inputs.name as string);
    expect(names('big').sort()).toEqual(
      [
        'nova-api',
        'nova-elasticsearch-1',
        'nova-elasticsearch-2',
        'nova-elasticsearch-3',
        'nova-kibana',
        'nova-mongodb-1',
        'nova-mongodb-2',
        'nova-mongodb-3',
        'nova-postgres',
      ].sort(),
    );
    expect(names('small').sort()).toEqual(
      [
        'nova-api',
        'nova-elasticsearch-1',
        'nova-kibana',
        'nova-mongodb-1',
        'nova-postgres',
        'nova-pgadmin',
        'nova-mongo-express',
        'nova-otel-collector',
        'nova-otel-collector-probe',
      ].sort(),
    );
  });

  it('bootstraps after every store is healthy and the replica set initiated, then starts Kibana and the service', async () => {
    for (const stack of ['big', 'small']) {
      // The members through the initiate step, which waits for them (mongo.test.ts).
      const stores = containers(stack)
        .filter((c) => /^nova-(postgres|elasticsearch-\d)$/.test(c.inputs.name as string))
        .map((c) => c.name);
      expect((await dependencyNames(`${stack}-bootstrap`)).sort()).toEqual(
        [...stores, `${stack}-mongodb-init`].sort(),
      );
      // The search indices are refilled after bootstrap, and again when the nodes are replaced.
      expect(await dependencyNames(`${stack}-bootstrap-reindex`)).toEqual([`${stack}-bootstrap`]);
      const reindex = resource(COMMAND, `${stack}-bootstrap-reindex`).inputs;
      expect(reindex.triggers).toEqual(
        containers(stack)
          .filter((c) => /^nova-elasticsearch-\d$/.test(c.inputs.name as string))
          .map((c) => `${c.name}-id`),
      );
      expect(String(reindex.create)).toMatch(/reindex tickets[\s\S]*reindex kb/);
      // The saved objects go in once Kibana is healthy, and again when it is replaced.
      const kibana = containerNamed(stack, 'nova-kibana');
      expect(await dependencyNames(`${stack}-dashboards`)).toEqual([kibana.name]);
      const dashboards = resource(COMMAND, `${stack}-dashboards`).inputs;
      expect(dashboards.triggers).toEqual([`${kibana.name}-id`]);
      expect(String(dashboards.create)).toContain(' bootstrap kibana');
      const members = containers(stack)
        .filter((c) => /^nova-mongodb-\d$/.test(c.inputs.name as string))
        .map((c) => c.name);
      expect(await dependencyNames(`${stack}-mongodb-init`)).toEqual(members);
      expect(await dependencyNames(containerNamed(stack, 'nova-kibana').name)).toEqual([
        `${stack}-bootstrap`,
      ]);
      expect(await dependencyNames(containerNamed(stack, 'nova-api').name)).toContain(
        `${stack}-bootstrap`,
      );
    }
    // Every store container is made healthy before `up` goes on (wait: true, healthcheck).
    for (const { inputs } of containers('big')) {
      expect(inputs).toMatchObject({ wait: true });
    }
  });

  it('writes what the Docker provider reads back, so a second up changes nothing; and stops containers with grace', () => {
    // The provider reads durations back as Go's time.Duration text and memory_swap as Docker
    // records it (twice the memory when unset): anything else is a diff on every `up`.
    const seconds = (text: string) => {
      const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
      return m ? Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0) : NaN;
    };
    for (const { inputs } of registered.filter((r) => r.type === CONTAINER)) {
      const name = String(inputs.name);
      const health = inputs.healthcheck as Record<string, unknown> | undefined;
      for (const key of ['interval', 'timeout', 'startPeriod'] as const) {
        const text = health?.[key];
        if (text === undefined) continue;
        expect(goDuration(seconds(String(text))), `${name} ${key}`).toBe(text);
      }
      if (inputs.memory === undefined) continue;
      expect(inputs.memorySwap, name).toBe(inputs.memory);
      // SIGTERM, then this long before SIGKILL: databases shut down cleanly, the service drains.
      expect(inputs.destroyGraceSeconds, name).toBeGreaterThanOrEqual(30);
      expect(inputs.stopTimeout, name).toBe(inputs.destroyGraceSeconds);
      if (name.startsWith('nova-elasticsearch')) {
        expect(inputs.destroyGraceSeconds, name).toBeGreaterThanOrEqual(60);
      }
    }
    // A changed healthcheck replaces the container (an update would leave the old one running).
    expect(replaceOnChanges.size).toBeGreaterThan(5);
    for (const [name, fields] of replaceOnChanges) expect(fields, name).toContain('healthcheck');
  });

  it('passes the policy rules: healthcheck, memory limit, nothing on 0.0.0.0, no plain-text secret', () => {
    for (const { inputs } of registered.filter((r) => r.type === CONTAINER)) {
      expect(longRunningViolations(inputs)).toEqual([]);
      expect(portViolations(inputs, { allowPublicBind: false })).toEqual([]);
      expect(plainTextSecretViolations(String(inputs.name), envSecrecy(inputs))).toEqual([]);
      if (inputs.name !== 'nova-otel-collector-probe')
        expect(inputs.restart).toBe('unless-stopped');
    }
  });

  it('writes every credential in a container environment as a secret, each on its own', async () => {
    // The policy sees a list holding one secret as all secret; the program is held to each entry.
    expect(writtenEnvs.size).toBeGreaterThan(10);
    for (const [name, entries] of writtenEnvs) {
      for (const entry of entries) {
        const text = await resolved(pulumi.output(entry));
        if (credentialVariable(text) === undefined) continue;
        expect({
          name,
          entry: text.split('=')[0],
          secret: await pulumi.isSecret(pulumi.output(entry)),
        }).toEqual({
          name,
          entry: text.split('=')[0],
          secret: true,
        });
      }
    }
  });

  it('publishes only Kibana, the service and the enabled UIs, on 127.0.0.1', () => {
    const published = (stack: string) =>
      Object.fromEntries(
        containers(stack)
          .filter((c) => c.inputs.ports)
          .map((c) => [
            c.inputs.name,
            (c.inputs.ports as { external: number; ip: string }[]).map(
              (p) => `${p.ip}:${p.external}`,
            ),
          ]),
      );
    expect(published('big')).toEqual({
      'nova-kibana': ['127.0.0.1:5601'],
      'nova-api': ['127.0.0.1:3000'],
    });
    expect(published('small')).toEqual({
      'nova-kibana': ['127.0.0.1:5601'],
      'nova-api': ['127.0.0.1:3000'],
      'nova-pgadmin': ['127.0.0.1:8080'],
      'nova-mongo-express': ['127.0.0.1:8081'],
    });
  });

  it("sends the service's telemetry to the collector when there is one, started before it", async () => {
    const api = containerNamed('small', 'nova-api');
    expect(envOf(api.inputs)).toEqual(
      expect.arrayContaining([
        'OTEL_EXPORTER_OTLP_ENDPOINT=http://nova-otel-collector:4318',
        // nova:traceSampleRatio, behind the caller's own choice.
        'OTEL_TRACES_SAMPLER=parentbased_traceidratio',
        'OTEL_TRACES_SAMPLER_ARG=0.25',
      ]),
    );
    expect((await dependencyNames(api.name)).sort()).toEqual(
      ['small-bootstrap', containerNamed('small', 'nova-otel-collector').name].sort(),
    );
    // Mongo Express needs a primary to log in to.
    expect(await dependencyNames(containerNamed('small', 'nova-mongo-express').name)).toEqual([
      'small-mongodb-init',
    ]);
  });

  it("gives the service the application's credentials only, all of them secrets", () => {
    const api = containerNamed('big', 'nova-api').inputs;
    secretValue(api.envs);
    expect(envNames(api)).toEqual(
      expect.arrayContaining([
        'DATABASE_URL',
        'MONGO_URL',
        'MONGO_USER',
        'MONGO_PASSWORD',
        'ELASTIC_URL',
        'ELASTIC_USERNAME',
        'ELASTIC_PASSWORD',
        'ELASTIC_CA_FILE',
        'KIBANA_URL',
      ]),
    );
    for (const admin of [
      'DATABASE_OWNER_URL',
      'MONGO_ADMIN_PASSWORD',
      'ELASTIC_ADMIN_PASSWORD',
      'KIBANA_SYSTEM_PASSWORD',
    ]) {
      expect(envNames(api)).not.toContain(admin);
    }
    expect(envOf(api)).toContain(
      'MONGO_URL=mongodb://nova-mongodb-1:27017,nova-mongodb-2:27018,nova-mongodb-3:27019/?replicaSet=rs0',
    );
  });

  it('keeps each generated password in the containers that need it and nowhere else', () => {
    /** Which containers' environment or uploads hold each generated password. */
    const holders = (stack: string) => {
      const generated = registered.filter(
        (r) =>
          r.type === 'random:index/randomPassword:RandomPassword' && r.name.startsWith(`${stack}-`),
      );
      // Containers by name; the one-shot steps by theirs, with what their environment holds.
      const places = [
        ...containers(stack).map((c) => ({
          name: c.inputs.name as string,
          holds: JSON.stringify([envOf(c.inputs), c.inputs.uploads]),
        })),
        ...['bootstrap', 'bootstrap-reindex', 'dashboards'].map((step) => ({
          name: step,
          holds: JSON.stringify(
            secretValue(resource(COMMAND, `${stack}-${step}`).inputs.environment),
          ),
        })),
      ];
      return Object.fromEntries(
        generated.map((p) => [
          p.name.slice(stack.length + 1),
          places
            .filter((place) => place.holds.includes(`generated-${p.name}`))
            .map((place) => place.name)
            .sort(),
        ]),
      );
    };
    const members = ['nova-mongodb-1', 'nova-mongodb-2', 'nova-mongodb-3'];
    expect(holders('big')).toEqual({
      // The owner's password: the server and the bootstrap only; the service and reindex log
      // in as the application role.
      'postgres-password': ['bootstrap', 'nova-postgres'],
      'postgres-app-password': ['bootstrap', 'bootstrap-reindex', 'nova-api'],
      'mongodb-keyfile': members,
      'mongodb-root-password': ['bootstrap', ...members],
      'mongo-app-password': ['bootstrap', 'nova-api'],
      'elasticsearch-elastic-password': [
        'bootstrap',
        'bootstrap-reindex',
        'dashboards',
        'nova-elasticsearch-1',
        'nova-elasticsearch-2',
        'nova-elasticsearch-3',
      ],
      'elastic-app-password': ['bootstrap', 'nova-api'],
      'kibana-system-password': ['bootstrap', 'nova-kibana'],
      'kibana-security-key': ['nova-kibana'],
      'kibana-saved-objects-key': ['nova-kibana'],
      'kibana-reporting-key': ['nova-kibana'],
    });
    // The extras: Mongo Express is an admin UI (root); pgAdmin is not given the database's.
    expect(holders('small')).toMatchObject({
      // The owner's password: the server and the bootstrap only; the service and reindex log
      // in as the application role.
      'postgres-password': ['bootstrap', 'nova-postgres'],
      'postgres-app-password': ['bootstrap', 'bootstrap-reindex', 'nova-api'],
      'mongodb-root-password': ['bootstrap', 'nova-mongo-express', 'nova-mongodb-1'],
      'pgadmin-password': ['nova-pgadmin'],
      'mongo-express-password': ['nova-mongo-express'],
    });
  });

  it('gives the service and the one-shot steps environments that src/config.ts accepts', () => {
    const asEnv = (entries: string[]) =>
      Object.fromEntries(
        entries.map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]),
      );
    for (const stack of ['big', 'small']) {
      const service = loadConfig(asEnv(envOf(containerNamed(stack, 'nova-api').inputs)));
      expect(service.mongo?.url).toMatch(/^mongodb:\/\/nova-mongodb-1:27017/);
      expect(service.elastic?.admin).toBeUndefined();
      for (const step of ['bootstrap', 'bootstrap-reindex']) {
        const env = secretValue(resource(COMMAND, `${stack}-${step}`).inputs.environment);
        const config = loadConfig(env as Record<string, string>);
        expect(config.postgres?.url).toMatch(/^postgresql:\/\//);
        expect(config.elastic?.admin?.username).toBe('elastic');
      }
      const dashboards = secretValue(resource(COMMAND, `${stack}-dashboards`).inputs.environment);
      expect(loadConfig(dashboards as Record<string, string>).kibana).toMatchObject({
        url: 'http://nova-kibana:5601',
        username: 'elastic',
        password: `generated-${stack}-elasticsearch-elastic-password`,
      });
    }
  });

  it('hands the bootstrap step the administrators, as secrets, and never on its command line', async () => {
    const bootstrap = resource(COMMAND, 'big-bootstrap').inputs;
    // The engine receives the whole environment as one secret: it holds secrets.
    const environment = secretValue(bootstrap.environment) as Record<string, string>;
    expect(Object.keys(environment)).toEqual(
      expect.arrayContaining([
        ...[...SECRET_VARIABLES].filter((name) => name !== 'KIBANA_PASSWORD'),
        'NOVA_ELASTIC_CA',
      ]),
    );
    expect(environment).toMatchObject({
      DATABASE_OWNER_URL:
        'postgresql://nova:generated-big-postgres-password@nova-postgres:5432/nova_universe',
      DATABASE_URL:
        'postgresql://nova_app:generated-big-postgres-app-password@nova-postgres:5432/nova_universe',
      MONGO_ADMIN_USER: 'root',
      MONGO_ADMIN_PASSWORD: 'generated-big-mongodb-root-password',
      ELASTIC_ADMIN_USERNAME: 'elastic',
      KIBANA_SYSTEM_PASSWORD: 'generated-big-kibana-system-password',
    });
    expect(String(bootstrap.create)).not.toMatch(/generated-/);
    expect(String(bootstrap.create)).toContain('sha256:built-big-api-image bootstrap all');
  });

  it('connects Kibana to every node as kibana_system over verified TLS, healthy when available', async () => {
    const kibana = containerNamed('big', 'nova-kibana').inputs;
    // A JSON array without spaces: the one multi-host form the image understands.
    expect(envOf(kibana)).toEqual(
      expect.arrayContaining([
        'ELASTICSEARCH_HOSTS=["https://nova-elasticsearch-1:9200","https://nova-elasticsearch-2:9200","https://nova-elasticsearch-3:9200"]',
        'ELASTICSEARCH_USERNAME=kibana_system',
        `ELASTICSEARCH_SSL_CERTIFICATEAUTHORITIES=${KIBANA_CA_FILE}`,
        'ELASTICSEARCH_SSL_VERIFICATIONMODE=full',
        'SERVER_PUBLICBASEURL=http://127.0.0.1:5601',
      ]),
    );
    const [upload] = kibana.uploads as { file: string; content: string }[];
    expect(upload).toMatchObject({ file: KIBANA_CA_FILE });
    expect(upload?.content).toBe(await resolved(big.components.elastic.caCert));
    expect((kibana.healthcheck as { tests: string[] }).tests).toEqual([
      'CMD-SHELL',
      KIBANA_HEALTHCHECK,
    ]);
    // Kibana refuses encryption keys shorter than 32 characters.
    for (const key of ['security', 'saved-objects', 'reporting']) {
      const { length } = resource(
        'random:index/randomPassword:RandomPassword',
        `big-kibana-${key}-key`,
      ).inputs as { length: number };
      expect(length).toBeGreaterThanOrEqual(32);
    }
  });

  it('serves from the built image, healthy on /livez, trusting the cluster CA', async () => {
    const api = containerNamed('big', 'nova-api').inputs;
    expect(api.command).toEqual(['serve']);
    expect((api.healthcheck as { tests: string[] }).tests.join(' ')).toContain(
      'http://127.0.0.1:3000/livez',
    );
    const [upload] = api.uploads as { file: string; content: string }[];
    expect(envOf(api)).toContain(`ELASTIC_CA_FILE=${upload?.file}`);
    expect(upload?.content).toBe(await resolved(big.components.elastic.caCert));
    // No collector by default: nowhere to send traces.
    expect(envNames(api)).not.toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
    // Production head sampling by default: a tenth of the requests no caller decided for.
    expect(envOf(api)).toEqual(
      expect.arrayContaining([
        'OTEL_TRACES_SAMPLER=parentbased_traceidratio',
        'OTEL_TRACES_SAMPLER_ARG=0.1',
      ]),
    );
  });

  it('stops the service only after its own shutdown bound has passed', () => {
    const api = containerNamed('big', 'nova-api').inputs;
    const env = Object.fromEntries(
      envOf(api).map((e) => [e.split('=')[0], e.slice(e.indexOf('=') + 1)]),
    );
    const { shutdownTimeoutMs } = loadConfig(env).service;
    expect(Number(api.stopTimeout) * 1000).toBeGreaterThan(shutdownTimeoutMs + HARD_EXIT_MARGIN_MS);
    expect(Number(api.destroyGraceSeconds) * 1000).toBeGreaterThan(
      shutdownTimeoutMs + HARD_EXIT_MARGIN_MS,
    );
  });

  it('builds the service image from the Dockerfile under a pinned name, locally, wherever the checkout is', () => {
    const image = resource('docker:index/image:Image', 'big-api-image').inputs;
    expect(image.imageName).toMatch(/^nova-api:\d+\.\d+\.\d+$/);
    expect(image).toMatchObject({ skipPush: true });
    // Relative to Pulumi.yaml's folder: no path of this machine is an input.
    expect(image.build).toEqual({ context: '.', dockerfile: 'Dockerfile' });
    expect(
      existsSync(join(repoRoot, 'Pulumi.yaml')) && existsSync(join(repoRoot, 'Dockerfile')),
    ).toBe(true);
    expect(containerNamed('big', 'nova-api').inputs.image).toBe('sha256:built-big-api-image');
  });

  it('outputs the URLs in plain text and the connection strings as secrets', async () => {
    expect(big.kibanaUrl).toBe('http://127.0.0.1:5601');
    expect(big.serviceUrl).toBe('http://127.0.0.1:3000');
    for (const secret of [
      big.databaseUrl,
      big.mongoUrl,
      big.elasticPassword,
      big.mongoRootPassword,
    ]) {
      expect(await pulumi.isSecret(secret)).toBe(true);
    }
    expect(await resolved(small.mongoUrl)).toBe(
      'mongodb://nova_app:generated-small-mongo-app-password@nova-mongodb-1:27017/nova_logs?replicaSet=rs0',
    );
  });
});
