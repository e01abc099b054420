/**
 * The Pulumi program (Pulumi.yaml's `main`): the stack's `nova:*` config, checked before any
 * resource is made, and the whole data tier from it. The exports are the stack's outputs:
 * `pulumi stack output` shows the URLs; the connection strings and the `elastic` password
 * are secrets (`--show-secrets` to read them).
 */
import * as pulumi from '@pulumi/pulumi';
import { readSettings } from './settings.js';
import { NovaStack } from './stack.js';

/** Every `nova:*` key the settings read, as the stack's config holds it (strings). */
const raw = Object.fromEntries(
  Object.entries(pulumi.runtime.allConfig())
    .filter(([key]) => key.startsWith('nova:'))
    .map(([key, value]) => [key.slice('nova:'.length), value]),
);

const stack = new NovaStack('nova', { settings: readSettings(raw) });

export const kibanaUrl = stack.kibanaUrl;
export const serviceUrl = stack.serviceUrl;
export const databaseUrl = stack.databaseUrl;
export const databaseOwnerUrl = stack.databaseOwnerUrl;
export const mongoUrl = stack.mongoUrl;
export const elasticUrl = stack.elasticUrl;
export const elasticPassword = stack.elasticPassword;
export const mongoRootPassword = stack.mongoRootPassword;
export const mongoHostUrl = stack.mongoHostUrl;
export const bootstrapReport = stack.bootstrapReport;

// The extras, when on (absent from the outputs otherwise); their logins are secrets.
const { pgAdmin, mongoExpress } = stack.extras;
export const pgAdminUrl = pgAdmin?.url;
export const pgAdminEmail = pgAdmin?.email;
export const pgAdminPassword = pgAdmin?.password;
export const mongoExpressUrl = mongoExpress?.url;
export const mongoExpressUser = mongoExpress?.username;
export const mongoExpressPassword = mongoExpress?.password;
