/**
 * NovaElasticCluster under Pulumi's mocks, with three nodes and with one: the certificates
 * and who signs them, what each node is given (settings, secrets, files, limits), and the two
 * shell scripts the containers run (the start wrapper and the healthcheck), executed here by
 * real shells against a fake entrypoint and a fake curl. The real server is the live
 * environment's (#6 run book).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, posix } from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { beforeAll, describe, expect, it } from 'vitest';
import { registered, resolved, resource, secretValue, useMocks } from './mocks.js';

await useMocks();
const elastic = await import('../../infra/elastic.js');
const { readSettings } = await import('../../infra/settings.js');
const { NovaElasticCluster } = elastic;

const CONTAINER = 'docker:index/container:Container';
const LOCALLY_SIGNED = 'tls:index/locallySignedCert:LocallySignedCert';
const CONFIG_DIR = '/usr/share/elasticsearch/config';
let three: InstanceType<typeof NovaElasticCluster>;
let one: InstanceType<typeof NovaElasticCluster>;

beforeAll(async () => {
  three = new NovaElasticCluster('elasticsearch', { settings: readSettings({}), network: 'nova' });
  one = new NovaElasticCluster('solo', {
    settings: readSettings({ elasticNodes: '1', elasticMemoryMb: '4096', elasticHeapMb: '1536' }),
    network: 'nova',
  });
  await Promise.all([...three.nodes, ...one.nodes].map((node) => resolved(node.id)));
});

const nodes = (prefix: string) =>
  registered.filter((r) => r.type === CONTAINER && new RegExp(`^${prefix}-\\d+$`).test(r.name));

const envOf = (inputs: Record<string, unknown>) => secretValue(inputs.envs) as string[];
const uploadsOf = (inputs: Record<string, unknown>) =>
  secretValue(inputs.uploads) as { file: string; content: string; [key: string]: unknown }[];

/** The settings an environment carries, decoded as Elasticsearch does (EnvironmentAwareCommand). */
function settingsOf(env: string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  for (const entry of env) {
    const [key = '', ...rest] = entry.split('=');
    if (!key.startsWith('ES_SETTING_')) continue;
    const name = key
      .slice('ES_SETTING_'.length)
      .replaceAll('_', '.')
      .replaceAll('..', '_')
      .toLowerCase();
    settings[name] = rest.join('=');
  }
  return settings;
}

describe('NovaElasticCluster', () => {
  it('makes 3 nodes by default and 1 when asked, named as the design names them', () => {
    expect(nodes('elasticsearch').map((n) => n.inputs.name)).toEqual([
      'nova-elasticsearch-1',
      'nova-elasticsearch-2',
      'nova-elasticsearch-3',
    ]);
    expect(nodes('solo').map((n) => n.inputs.name)).toEqual(['nova-elasticsearch-1']);
    expect(three.url).toBe(
      'https://nova-elasticsearch-1:9200,https://nova-elasticsearch-2:9200,https://nova-elasticsearch-3:9200',
    );
    expect(one.url).toBe('https://nova-elasticsearch-1:9200');
  });

  it('passes every setting in the ES_SETTING_ form, which Elasticsearch decodes back', () => {
    expect(elastic.settingEnvName('bootstrap.memory_lock')).toBe(
      'ES_SETTING_BOOTSTRAP_MEMORY__LOCK',
    );
    for (const { inputs } of nodes('elasticsearch')) {
      const env = envOf(inputs);
      // No dotted variable names: /bin/sh in the 8.17+ images drops them.
      expect(env.filter((e) => /^[^=]*\./.test(e))).toEqual([]);
      const n = Number((inputs.name as string).split('-').pop());
      expect(settingsOf(env)).toEqual(elastic.elasticNodeSettings(readSettings({}), n));
    }
  });

  it('forms one cluster of three: same name, each seeded with the others', () => {
    const all = nodes('elasticsearch').map(({ inputs }) => settingsOf(envOf(inputs)));
    expect(new Set(all.map((s) => s['cluster.name']))).toEqual(new Set(['nova-universe']));
    expect(all.map((s) => s['node.name'])).toEqual([
      'nova-elasticsearch-1',
      'nova-elasticsearch-2',
      'nova-elasticsearch-3',
    ]);
    expect(all.map((s) => s['discovery.seed_hosts'])).toEqual([
      'nova-elasticsearch-2,nova-elasticsearch-3',
      'nova-elasticsearch-1,nova-elasticsearch-3',
      'nova-elasticsearch-1,nova-elasticsearch-2',
    ]);
    for (const settings of all) {
      expect(settings).not.toHaveProperty('discovery.type');
      // Never a fixed setting: the start wrapper adds it until the cluster has formed.
      expect(settings).not.toHaveProperty('cluster.initial_master_nodes');
    }
    for (const { inputs } of nodes('elasticsearch')) {
      expect(inputs.networksAdvanced).toEqual([{ name: 'nova', aliases: [inputs.name] }]);
    }
  });

  it('runs one node with single-node discovery and the image’s own command', () => {
    const { inputs } = resource(CONTAINER, 'solo-1');
    const settings = settingsOf(envOf(inputs));
    expect(settings['discovery.type']).toBe('single-node');
    expect(settings).not.toHaveProperty('discovery.seed_hosts');
    expect(settings).not.toHaveProperty('cluster.initial_master_nodes');
    expect(inputs).not.toHaveProperty('command');
  });

  describe('the start wrapper (3 nodes), run by bash against a fake entrypoint', () => {
    function start(markerExists: boolean) {
      const dir = mkdtempSync(join(tmpdir(), 'nova-es-start-'));
      const entrypoint = join(dir, 'docker-entrypoint.sh');
      writeFileSync(
        entrypoint,
        // A shell parameter with a default, not a template placeholder.
        // biome-ignore lint/suspicious/noTemplateCurlyInString: shell syntax
        '#!/bin/sh\necho "args=$*"\necho "masters=${ES_SETTING_CLUSTER_INITIAL__MASTER__NODES-unset}"\n',
      );
      chmodSync(entrypoint, 0o755);
      const marker = join(dir, '.nova-cluster-formed');
      if (markerExists) writeFileSync(marker, '');
      const command = elastic.initialMasterNodesCommand(readSettings({})) as string[];
      const [shell, flag, script] = command as [string, string, string];
      const local = script
        .replaceAll(elastic.CLUSTER_FORMED_MARKER, marker)
        .replaceAll('/usr/local/bin/docker-entrypoint.sh', entrypoint);
      expect(local).not.toBe(script);
      return execFileSync(shell, [flag, local], {
        encoding: 'utf8',
        env: { PATH: '/usr/bin:/bin' },
      });
    }

    it('gives the first start all three names as initial masters, then hands over to the image', () => {
      expect(start(false)).toBe(
        'args=eswrapper\nmasters=nova-elasticsearch-1,nova-elasticsearch-2,nova-elasticsearch-3\n',
      );
    });

    it('gives no initial masters once the node has seen the cluster formed', () => {
      expect(start(true)).toBe('args=eswrapper\nmasters=unset\n');
    });

    it('is what every one of the three containers runs', () => {
      const commands = nodes('elasticsearch').map(({ inputs }) => inputs.command);
      expect(commands).toEqual(Array(3).fill(elastic.initialMasterNodesCommand(readSettings({}))));
      expect(commands[0]).toEqual(['bash', '-c', expect.stringContaining('exec ')]);
    });
  });

  it('turns on security with TLS on HTTP and transport, from the files it uploads', () => {
    for (const { inputs } of [...nodes('elasticsearch'), ...nodes('solo')]) {
      const settings = settingsOf(envOf(inputs));
      const files = uploadsOf(inputs).map((u) => u.file);
      expect(settings['xpack.security.enabled']).toBe('true');
      for (const layer of ['http', 'transport']) {
        const ssl = (key: string) => settings[`xpack.security.${layer}.ssl.${key}`];
        expect(ssl('enabled')).toBe('true');
        expect(ssl('verification_mode')).toBe('certificate');
        // Relative paths resolve against the config directory: each names an uploaded file.
        for (const key of ['key', 'certificate', 'certificate_authorities']) {
          expect(files).toContain(posix.join(CONFIG_DIR, ssl(key) as string));
        }
      }
    }
  });

  it('has one CA sign every node certificate, each naming its node', async () => {
    const ca = resource('tls:index/selfSignedCert:SelfSignedCert', 'elasticsearch-ca').inputs;
    expect(ca).toMatchObject({
      isCaCertificate: true,
      allowedUses: ['cert_signing', 'crl_signing', 'digital_signature'],
    });
    expect(secretValue(ca.privateKeyPem)).toBe('private-key-pem-elasticsearch-ca-key');
    expect(resource('tls:index/privateKey:PrivateKey', 'elasticsearch-ca-key').inputs).toEqual({
      algorithm: 'RSA',
      rsaBits: 2048,
    });
    for (const n of [1, 2, 3]) {
      const cert = resource(LOCALLY_SIGNED, `elasticsearch-${n}-cert`).inputs;
      expect(cert.caCertPem).toBe('cert-pem-elasticsearch-ca');
      expect(secretValue(cert.caPrivateKeyPem)).toBe('private-key-pem-elasticsearch-ca-key');
      expect(cert.certRequestPem).toBe(`csr-pem-elasticsearch-${n}-csr`);
      expect(cert.allowedUses).toEqual(
        expect.arrayContaining(['server_auth', 'client_auth', 'digital_signature']),
      );
      expect(cert.earlyRenewalHours).toBeGreaterThan(0);
      expect(cert.validityPeriodHours as number).toBeGreaterThan(cert.earlyRenewalHours as number);
      const request = resource(
        'tls:index/certRequest:CertRequest',
        `elasticsearch-${n}-csr`,
      ).inputs;
      expect(secretValue(request.privateKeyPem)).toBe(`private-key-pem-elasticsearch-${n}-key`);
      expect(request.dnsNames).toEqual([`nova-elasticsearch-${n}`, 'localhost']);
      expect(request.ipAddresses).toEqual(['127.0.0.1']);
    }
    expect(
      registered.filter((r) => r.type === LOCALLY_SIGNED && r.name.startsWith('solo')),
    ).toHaveLength(1);
    expect(await resolved(three.caCert)).toBe('cert-pem-elasticsearch-ca');
    expect(await pulumi.isSecret(three.caCert)).toBe(false);
  });

  it('uploads each node its own certificate and key, the key secret, readable by group 0 only', async () => {
    for (const { name, inputs } of nodes('elasticsearch')) {
      const byFile = Object.fromEntries(uploadsOf(inputs).map((u) => [u.file, u]));
      const certs = `${CONFIG_DIR}/certs`;
      expect(byFile[`${certs}/ca.crt`]?.content).toBe('cert-pem-elasticsearch-ca');
      expect(byFile[`${certs}/node.crt`]?.content).toBe(`cert-pem-${name}-cert`);
      expect(byFile[`${certs}/node.key`]?.content).toBe(`private-key-pem-${name}-key`);
      for (const file of ['ca.crt', 'node.crt', 'node.key']) {
        expect(byFile[`${certs}/${file}`]).toMatchObject({
          owner: '0',
          group: '0',
          permissions: '0640',
        });
      }
    }
    // The key is a secret inside the upload list itself, not only because the list is.
    const uploads = elastic.elasticNodeUploads(readSettings({}), {
      keyPem: 'k',
      certPem: 'c',
      caCertPem: 'ca',
    });
    const content = (file: string) =>
      uploads.find((u) => u.file === `${CONFIG_DIR}/certs/${file}`)
        ?.content as pulumi.Input<string>;
    expect(await pulumi.isSecret(pulumi.output(content('node.key')))).toBe(true);
    expect(await pulumi.isSecret(pulumi.output(content('node.crt')))).toBe(false);
  });

  it('seeds the elastic password as a secret, the whole environment travelling as one', async () => {
    for (const { inputs } of [...nodes('elasticsearch'), ...nodes('solo')]) {
      expect(envOf(inputs).filter((e) => e.startsWith('ELASTIC_PASSWORD='))).toHaveLength(1);
    }
    expect(envOf(resource(CONTAINER, 'elasticsearch-2').inputs)).toContain(
      'ELASTIC_PASSWORD=generated-elasticsearch-elastic-password',
    );
    expect(envOf(resource(CONTAINER, 'solo-1').inputs)).toContain(
      'ELASTIC_PASSWORD=generated-solo-elastic-password',
    );
    const [password, ...settings] = elastic.elasticNodeEnv(readSettings({}), 1, 'pw');
    expect(await pulumi.isSecret(pulumi.output(password as pulumi.Input<string>))).toBe(true);
    // The settings are plain: only the password makes the environment secret.
    expect(settings.every((e) => typeof e === 'string')).toBe(true);
    expect(await pulumi.isSecret(three.elasticPassword)).toBe(true);
    expect(await resolved(three.elasticPassword)).toBe('generated-elasticsearch-elastic-password');
  });

  it('sets the heap from the settings and the memory limit of the container', () => {
    const heap = (inputs: Record<string, unknown>) =>
      uploadsOf(inputs).find((u) => u.file === elastic.HEAP_OPTIONS_FILE)?.content;
    for (const { inputs } of nodes('elasticsearch')) {
      expect(heap(inputs)).toBe('-Xms1024m\n-Xmx1024m\n');
      expect(inputs.memory).toBe(2048);
      expect(settingsOf(envOf(inputs))).not.toHaveProperty('es_java_opts');
    }
    const { inputs } = resource(CONTAINER, 'solo-1');
    expect(heap(inputs)).toBe('-Xms1536m\n-Xmx1536m\n');
    expect(inputs.memory).toBe(4096);
    expect(envOf(inputs).some((e) => e.startsWith('ES_JAVA_OPTS='))).toBe(false);
  });

  it('is long-running like every store: restart policy, limits, wait for health, nothing published', () => {
    for (const { inputs } of [...nodes('elasticsearch'), ...nodes('solo')]) {
      expect(inputs).toMatchObject({ restart: 'unless-stopped', wait: true });
      expect(inputs.waitTimeout as number).toBeGreaterThanOrEqual(180);
      expect(inputs).not.toHaveProperty('ports');
      expect(inputs.ulimits).toEqual([
        { name: 'memlock', soft: -1, hard: -1 },
        { name: 'nofile', soft: 65_535, hard: 65_535 },
      ]);
      expect(settingsOf(envOf(inputs))['bootstrap.memory_lock']).toBe('true');
      expect(inputs.volumes).toEqual([
        {
          volumeName: expect.stringMatching(new RegExp(`^${inputs.name}-of-[13]-data$`)),
          containerPath: '/usr/share/elasticsearch/data',
        },
      ]);
    }
    // Named for the cluster's size: another size is another cluster, never the old data.
    expect(resource('docker:index/volume:Volume', 'elasticsearch-3-data').inputs).toEqual({
      name: 'nova-elasticsearch-3-of-3-data',
    });
    expect(resource('docker:index/volume:Volume', 'solo-1-data').inputs).toEqual({
      name: 'nova-elasticsearch-1-of-1-data',
    });
  });

  describe('the healthcheck, run by a shell against a fake curl', () => {
    const [kind, check] = elastic.elasticHealthcheck().tests as [string, string];

    function probe(shell: string, curlExit: number) {
      const dir = mkdtempSync(join(tmpdir(), 'nova-es-health-'));
      writeFileSync(
        join(dir, 'curl'),
        `#!/bin/sh\nprintf '%s\\n' "$@" > "${dir}/argv"\ncat > "${dir}/stdin"\nexit ${curlExit}\n`,
      );
      chmodSync(join(dir, 'curl'), 0o755);
      const marker = join(dir, 'formed');
      const local = check.replaceAll(elastic.CLUSTER_FORMED_MARKER, marker);
      const run = spawnSync(shell, ['-c', local], {
        encoding: 'utf8',
        env: { PATH: `${dir}:/usr/bin:/bin`, ELASTIC_PASSWORD: 'S3cretFromEnv' },
      });
      return {
        status: run.status,
        argv: readFileSync(join(dir, 'argv'), 'utf8').split('\n'),
        stdin: readFileSync(join(dir, 'stdin'), 'utf8'),
        formed: existsSync(marker),
      };
    }

    it('never holds the password itself, only the variable’s name', () => {
      expect(kind).toBe('CMD-SHELL');
      expect(check).toContain('"$ELASTIC_PASSWORD"');
      for (const { inputs } of [...nodes('elasticsearch'), ...nodes('solo')]) {
        expect(inputs.healthcheck).toEqual(elastic.elasticHealthcheck());
        expect(JSON.stringify(inputs.healthcheck)).not.toContain('generated-');
        expect(JSON.stringify(inputs.command ?? [])).not.toContain('generated-');
      }
    });

    for (const shell of ['sh', 'bash']) {
      it(`authenticates as elastic over TLS checked against the CA (${shell})`, () => {
        const { status, argv, stdin, formed } = probe(shell, 0);
        expect(status).toBe(0);
        // The password reaches curl on stdin, never in its arguments.
        expect(stdin).toBe('user = "elastic:S3cretFromEnv"\n');
        expect(argv.join(' ')).not.toContain('S3cretFromEnv');
        expect(argv).toEqual(expect.arrayContaining(['--fail', '--config', '-', '--cacert']));
        expect(argv).toContain(`${CONFIG_DIR}/certs/ca.crt`);
        expect(argv).toContain(
          'https://localhost:9200/_cluster/health?wait_for_status=yellow&timeout=5s',
        );
        expect(formed).toBe(true);
      });

      it(`fails, and records nothing, when Elasticsearch refuses or is not ready (${shell})`, () => {
        // curl --fail exits 22 on an HTTP error: 401, 503 with no master, 408 while red.
        const { status, formed } = probe(shell, 22);
        expect(status).not.toBe(0);
        expect(formed).toBe(false);
      });
    }
  });

  it('refers to the pinned image by its id, and is a pure function of the settings', async () => {
    expect(
      resource('docker:index/remoteImage:RemoteImage', 'elasticsearch-image').inputs,
    ).toMatchObject({
      name: 'docker.elastic.co/elasticsearch/elasticsearch:8.19.26',
    });
    for (const { inputs } of nodes('elasticsearch')) {
      expect(inputs.image).toBe('sha256:elasticsearch-image');
    }
    const inputs = {
      image: 'sha256:abc',
      network: 'nova',
      volume: 'nova-elasticsearch-2-data',
      elasticPassword: 'pw',
      keyPem: 'key',
      certPem: 'cert',
      caCertPem: 'ca',
    };
    const build = () =>
      resolved(pulumi.output(elastic.elasticNodeArgs(readSettings({}), 2, inputs)));
    expect(await build()).toEqual(await build());
  });
});
