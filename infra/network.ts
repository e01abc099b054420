/**
 * The stack's one Docker network. Every container joins it under its design name (aliased),
 * so the service, the bootstrap step and the stores reach each other by those names and no
 * store needs a published port.
 */
import * as docker from '@pulumi/docker';
import type * as pulumi from '@pulumi/pulumi';

export const NETWORK_NAME = 'nova-net';

export const novaNetwork = (name: string, opts?: pulumi.CustomResourceOptions) =>
  new docker.Network(name, { name: NETWORK_NAME, driver: 'bridge' }, opts);

/** The URL the operator's machine opens for a port published on the stack's bind address. */
export const publishedUrl = (bindAddress: string, port: number) =>
  `http://${bindAddress === '0.0.0.0' ? 'localhost' : bindAddress}:${port}`;
