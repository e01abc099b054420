/**
 * NovaStack: the whole data tier in the order it can start in, each step gated on the one
 * before being healthy (every container is made with `wait: true` behind a healthcheck):
 *
 *   network -> PostgreSQL, MongoDB members (-> replica-set initiate), Elasticsearch nodes
 *           -> bootstrap (`nova bootstrap all`, in the service's image)
 *                -> reindex (`nova reindex tickets`, `kb`)
 *                -> Kibana -> dashboards (`nova bootstrap kibana`)
 *                -> the service (after the collector, when there is one)
 *
 * The extras (pgAdmin, Mongo Express, the collector) are made when their settings say so.
 * The passwords the stores' users get are made here, once per stack, and handed to the
 * bootstrap step (which creates the users and sets kibana_system's password) and to the
 * containers that log in with them. Outputs are the URLs an operator opens and the
 * connection strings, the latter secrets.
 */
import type * as command from '@pulumi/command';
import * as docker from '@pulumi/docker';
import * as pulumi from '@pulumi/pulumi';
import { dashboardsStep, NovaBootstrap, type NovaBootstrapArgs } from './bootstrap.js';
import { generatedPassword, replaceOnHealthcheckChange } from './common.js';
import { NovaElasticCluster } from './elastic.js';
import { mongoUrl, type StackEndpoints, serviceEnvironment } from './environment.js';
import { NovaKibana } from './kibana.js';
import { NovaMongoReplicaSet } from './mongo.js';
import { NovaMongoExpress } from './mongo-express.js';
import { APP_USER, MONGO_ROOT_USER } from './names.js';
import { novaNetwork } from './network.js';
import { NovaOtelCollector } from './otel-collector.js';
import { NovaPgAdmin } from './pgadmin.js';
import { NovaPostgres, POSTGRES_CONTAINER } from './postgres.js';
import { NovaService, serviceImageArgs } from './service.js';
import type { StackSettings } from './settings.js';

export class NovaStack extends pulumi.ComponentResource {
  readonly kibanaUrl: string;
  readonly serviceUrl: string;
  /** Connection strings as the stack network's containers use them; secrets. */
  readonly databaseUrl: pulumi.Output<string>;
  /** PostgreSQL as the schema's owner (migrations, psql as an administrator); a secret. */
  readonly databaseOwnerUrl: pulumi.Output<string>;
  readonly mongoUrl: pulumi.Output<string>;
  readonly elasticUrl: pulumi.Output<string>;
  /** The `elastic` superuser's password (the Kibana login); a secret. */
  readonly elasticPassword: pulumi.Output<string>;
  /** MongoDB's root password (`mongosh -u root` inside a member); a secret. */
  readonly mongoRootPassword: pulumi.Output<string>;
  /**
   * With nova:mongoHostAccess, the replica set as the operator's machine reaches it (no
   * credentials: add a user's); undefined otherwise.
   */
  readonly mongoHostUrl: string | undefined;
  /** What `nova bootstrap all` reported on its last run. */
  readonly bootstrapReport: pulumi.Output<string>;
  readonly components: {
    postgres: NovaPostgres;
    mongo: NovaMongoReplicaSet;
    elastic: NovaElasticCluster;
    bootstrap: NovaBootstrap;
    kibana: NovaKibana;
    /** `nova bootstrap kibana`, once Kibana is healthy. */
    dashboards: command.local.Command;
    service: NovaService;
  };
  /** The optional extras (nova:pgAdmin, nova:mongoExpress, nova:otelCollector); off: absent. */
  readonly extras: {
    pgAdmin?: NovaPgAdmin;
    mongoExpress?: NovaMongoExpress;
    otelCollector?: NovaOtelCollector;
  };

  constructor(
    name: string,
    { settings }: { settings: StackSettings },
    opts?: pulumi.ComponentResourceOptions,
  ) {
    super(
      'nova:index:NovaStack',
      name,
      {},
      {
        ...opts,
        transformations: [replaceOnHealthcheckChange, ...(opts?.transformations ?? [])],
      },
    );
    const parent = { parent: this };
    const network = novaNetwork(`${name}-network`, parent).name;
    const stores = { settings, network };
    const postgres = new NovaPostgres(`${name}-postgres`, stores, parent);
    const mongo = new NovaMongoReplicaSet(`${name}-mongodb`, stores, parent);
    const elastic = new NovaElasticCluster(`${name}-elasticsearch`, stores, parent);

    const endpoints: StackEndpoints = {
      databaseUrl: postgres.url,
      databaseOwnerUrl: postgres.ownerUrl,
      mongo: {
        hosts: mongo.hosts,
        rootPassword: mongo.rootPassword,
        appPassword: generatedPassword(`${name}-mongo-app-password`, this),
      },
      elastic: {
        url: elastic.url,
        adminPassword: elastic.elasticPassword,
        appPassword: generatedPassword(`${name}-elastic-app-password`, this),
      },
      kibanaSystemPassword: generatedPassword(`${name}-kibana-system-password`, this),
    };
    this.extras = this.makeExtras(name, settings, network, mongo);
    const image = new docker.Image(`${name}-api-image`, serviceImageArgs(), parent).repoDigest;

    const oneShots: NovaBootstrapArgs = {
      image,
      network,
      environment: {
        bootstrap: serviceEnvironment(settings, endpoints, 'bootstrap'),
        reindex: serviceEnvironment(settings, endpoints, 'reindex'),
        dashboards: serviceEnvironment(settings, endpoints, 'dashboards'),
      },
      caCert: elastic.caCert,
      elasticNodes: elastic.nodes.map((node) => node.id),
    };
    const bootstrap = new NovaBootstrap(
      `${name}-bootstrap`,
      oneShots,
      // The replica set's initiate step, not only its members: users need a primary.
      { ...parent, dependsOn: [postgres.container, mongo.initiated, ...elastic.nodes] },
    );
    const afterBootstrap = { ...parent, dependsOn: [bootstrap.command] };
    const collector = this.extras.otelCollector;
    const kibana = new NovaKibana(
      `${name}-kibana`,
      {
        ...stores,
        elasticUrl: elastic.url,
        caCert: elastic.caCert,
        systemPassword: endpoints.kibanaSystemPassword,
      },
      afterBootstrap,
    );
    const service = new NovaService(
      `${name}-api`,
      {
        ...stores,
        image,
        environment: serviceEnvironment(settings, endpoints, 'service'),
        caCert: elastic.caCert,
      },
      // The service sends its traces to the collector, when there is one.
      collector
        ? { ...parent, dependsOn: [bootstrap.command, collector.container] }
        : afterBootstrap,
    );
    const dashboards = dashboardsStep(`${name}-dashboards`, oneShots, kibana.container, parent);

    this.kibanaUrl = kibana.url;
    this.serviceUrl = service.url;
    this.databaseUrl = postgres.url;
    this.databaseOwnerUrl = postgres.ownerUrl;
    // The application's, with the database its user is defined in (MONGO_DB_NAME's default).
    this.mongoUrl = pulumi.secret(
      mongoUrl(settings, mongo.hosts, {
        user: APP_USER,
        password: endpoints.mongo.appPassword,
        database: 'nova_logs',
      }),
    );
    this.elasticUrl = pulumi.output(elastic.url);
    this.elasticPassword = pulumi.secret(elastic.elasticPassword);
    this.mongoRootPassword = mongo.rootPassword;
    this.mongoHostUrl = settings.mongo.hostAccess
      ? String(mongoUrl(settings, mongo.hosts))
      : undefined;
    this.bootstrapReport = bootstrap.report;
    this.components = { postgres, mongo, elastic, bootstrap, kibana, dashboards, service };
    this.registerOutputs({
      pgAdminUrl: this.extras.pgAdmin?.url,
      mongoExpressUrl: this.extras.mongoExpress?.url,
      kibanaUrl: this.kibanaUrl,
      serviceUrl: this.serviceUrl,
      databaseUrl: this.databaseUrl,
      databaseOwnerUrl: this.databaseOwnerUrl,
      mongoUrl: this.mongoUrl,
      elasticUrl: this.elasticUrl,
      elasticPassword: this.elasticPassword,
      mongoRootPassword: this.mongoRootPassword,
    });
  }

  private makeExtras(
    name: string,
    settings: StackSettings,
    network: pulumi.Output<string>,
    mongo: NovaMongoReplicaSet,
  ): NovaStack['extras'] {
    const parent = { parent: this };
    const { extras } = settings;
    const rootUrl = pulumi.secret(
      mongoUrl(settings, mongo.hosts, {
        user: MONGO_ROOT_USER,
        password: mongo.rootPassword,
        database: '',
        authSource: 'admin',
      }),
    );
    return {
      pgAdmin: extras.pgAdmin
        ? new NovaPgAdmin(
            `${name}-pgadmin`,
            {
              settings,
              network,
              postgres: {
                host: POSTGRES_CONTAINER,
                database: settings.postgres.database,
                user: settings.postgres.user,
              },
            },
            parent,
          )
        : undefined,
      mongoExpress: extras.mongoExpress
        ? new NovaMongoExpress(
            `${name}-mongo-express`,
            { settings, network, mongoUrl: rootUrl },
            {
              ...parent,
              dependsOn: [mongo.initiated],
            },
          )
        : undefined,
      otelCollector: extras.otelCollector
        ? new NovaOtelCollector(`${name}-otel-collector`, { settings, network }, parent)
        : undefined,
    };
  }
}
