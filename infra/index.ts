/**
 * The Pulumi program (Pulumi.yaml's `main`): the stack's `nova:*` config, checked before any
 * resource is made, and the whole data tier from it, on the platform `nova:platform` names:
 * local Docker (the default; stack.ts) or a Kubernetes cluster (k8s/program.ts). The exports
 * are the stack's outputs (a platform's outputs are absent on the other): `pulumi stack
 * output` shows the URLs; the connection strings and passwords are secrets (`--show-secrets`
 * to read them). On Kubernetes no output carries a credential: they stay in Secrets.
 */
import * as pulumi from '@pulumi/pulumi';
import { NovaKubernetes } from './k8s/program.js';
import { readKubernetesSettings } from './k8s/settings.js';
import { readSettings, splitPlatform } from './settings.js';
import { NovaStack } from './stack.js';

/** Every `nova:*` key the settings read, as the stack's config holds it (strings). */
const raw = Object.fromEntries(
  Object.entries(pulumi.runtime.allConfig())
    .filter(([key]) => key.startsWith('nova:'))
    .map(([key, value]) => [key.slice('nova:'.length), value]),
);
const { platform, rest } = splitPlatform(raw);

const stack =
  platform === 'docker' ? new NovaStack('nova', { settings: readSettings(rest) }) : undefined;
const cluster =
  platform === 'kubernetes'
    ? new NovaKubernetes('nova', { settings: readKubernetesSettings(rest) })
    : undefined;

export const kibanaUrl = stack?.kibanaUrl ?? cluster?.kibanaUrl;
export const serviceUrl = stack?.serviceUrl ?? cluster?.serviceUrl;
export const namespace = cluster?.namespace;
export const databaseUrl = stack?.databaseUrl;
export const databaseOwnerUrl = stack?.databaseOwnerUrl;
export const mongoUrl = stack?.mongoUrl;
export const elasticUrl = stack?.elasticUrl;
export const elasticPassword = stack?.elasticPassword;
export const mongoRootPassword = stack?.mongoRootPassword;
export const mongoHostUrl = stack?.mongoHostUrl;
export const bootstrapReport = stack?.bootstrapReport;

// The extras, when on (absent from the outputs otherwise); their logins are secrets.
const extras = stack?.extras;
export const pgAdminUrl = extras?.pgAdmin?.url;
export const pgAdminEmail = extras?.pgAdmin?.email;
export const pgAdminPassword = extras?.pgAdmin?.password;
export const mongoExpressUrl = extras?.mongoExpress?.url;
export const mongoExpressUser = extras?.mongoExpress?.username;
export const mongoExpressPassword = extras?.mongoExpress?.password;
