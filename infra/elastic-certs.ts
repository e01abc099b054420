/**
 * The Elasticsearch cluster's certificates, made by @pulumi/tls instead of a `certutil` setup
 * container (Elastic's compose example): one CA, and per node a key and a certificate the CA
 * signs, for TLS on both HTTP and transport. Every private key is a Pulumi secret from its
 * creation (the provider marks `privateKeyPem` secret) to the node's upload.
 *
 * RSA 2048 in PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`): what `elasticsearch-certutil --pem`
 * writes, so exactly the format Elasticsearch's own example reads.
 *
 * Renewal: @pulumi/tls re-issues a certificate on an `up` inside its early-renewal window. A
 * new node certificate changes the node's upload, which replaces its container (data kept in
 * the volume); a new CA certificate re-issues every node's and replaces them all, and the
 * consumers of `caCert` (Kibana, the bootstrap step) get the new one in the same `up`.
 */
import type * as pulumi from '@pulumi/pulumi';
import * as tls from '@pulumi/tls';
import { elasticNodeName } from './names.js';

const HOURS_PER_YEAR = 8760;
/** Ten years, renewed in its last year. */
export const CA_VALIDITY_HOURS = 10 * HOURS_PER_YEAR;
export const CA_EARLY_RENEWAL_HOURS = HOURS_PER_YEAR;
/** Three years, renewed in the last 30 days. */
export const NODE_VALIDITY_HOURS = 3 * HOURS_PER_YEAR;
export const NODE_EARLY_RENEWAL_HOURS = 30 * 24;

export const KEY_ARGS: tls.PrivateKeyArgs = { algorithm: 'RSA', rsaBits: 2048 };

/**
 * The names a node's certificate holds: its container name (what Kibana and the service dial
 * on the stack network, verifying the host name; the nodes check each other against the CA
 * only), and localhost/127.0.0.1
 * for checks from inside the container (its healthcheck), as in Elastic's instances.yml.
 */
export function nodeCertificateNames(n: number): { dnsNames: string[]; ipAddresses: string[] } {
  return { dnsNames: [elasticNodeName(n), 'localhost'], ipAddresses: ['127.0.0.1'] };
}

export function caCertArgs(caKeyPem: pulumi.Input<string>): tls.SelfSignedCertArgs {
  return {
    privateKeyPem: caKeyPem,
    isCaCertificate: true,
    // Signs the node certificates only: no intermediate CA below it.
    maxPathLength: 0,
    allowedUses: ['cert_signing', 'crl_signing', 'digital_signature'],
    subject: { commonName: 'Nova Universe Elasticsearch CA', organization: 'Nova Universe' },
    setSubjectKeyId: true,
    validityPeriodHours: CA_VALIDITY_HOURS,
    earlyRenewalHours: CA_EARLY_RENEWAL_HOURS,
  };
}

export function nodeCertRequestArgs(n: number, keyPem: pulumi.Input<string>): tls.CertRequestArgs {
  return {
    privateKeyPem: keyPem,
    subject: { commonName: elasticNodeName(n), organization: 'Nova Universe' },
    ...nodeCertificateNames(n),
  };
}

export interface CertificateAuthority {
  certPem: pulumi.Input<string>;
  /** A secret. */
  keyPem: pulumi.Input<string>;
}

export function nodeCertArgs(
  requestPem: pulumi.Input<string>,
  ca: CertificateAuthority,
): tls.LocallySignedCertArgs {
  return {
    certRequestPem: requestPem,
    caCertPem: ca.certPem,
    caPrivateKeyPem: ca.keyPem,
    // Server for HTTP and transport, client too: transport TLS is mutual, every node dials
    // the others with its own certificate.
    allowedUses: ['digital_signature', 'key_encipherment', 'server_auth', 'client_auth'],
    setSubjectKeyId: true,
    validityPeriodHours: NODE_VALIDITY_HOURS,
    earlyRenewalHours: NODE_EARLY_RENEWAL_HOURS,
  };
}

export interface NodeCertificate {
  /** PEM, a secret. */
  keyPem: pulumi.Output<string>;
  certPem: pulumi.Output<string>;
}

export interface ElasticCertificates {
  /** The CA's certificate, PEM: public, what clients trust (ELASTIC_CA_FILE). */
  caCertPem: pulumi.Output<string>;
  /** Node n's key and certificate at index n - 1. */
  nodes: NodeCertificate[];
}

/** The CA and one key and certificate per node, children of `parent`. */
export function elasticCertificates(
  name: string,
  nodes: number,
  parent: pulumi.Resource,
): ElasticCertificates {
  const opts = { parent };
  const caKey = new tls.PrivateKey(`${name}-ca-key`, KEY_ARGS, opts);
  const ca = new tls.SelfSignedCert(`${name}-ca`, caCertArgs(caKey.privateKeyPem), opts);
  return {
    caCertPem: ca.certPem,
    nodes: Array.from({ length: nodes }, (_, i) => {
      const n = i + 1;
      const key = new tls.PrivateKey(`${name}-${n}-key`, KEY_ARGS, opts);
      const request = new tls.CertRequest(
        `${name}-${n}-csr`,
        nodeCertRequestArgs(n, key.privateKeyPem),
        opts,
      );
      const cert = new tls.LocallySignedCert(
        `${name}-${n}-cert`,
        nodeCertArgs(request.certRequestPem, { certPem: ca.certPem, keyPem: caKey.privateKeyPem }),
        opts,
      );
      return { keyPem: key.privateKeyPem, certPem: cert.certPem };
    }),
  };
}
