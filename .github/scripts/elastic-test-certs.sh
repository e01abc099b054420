#!/usr/bin/env bash
# A throwaway certificate authority and an HTTP certificate for one Elasticsearch node reached
# on this machine (localhost, 127.0.0.1), valid for two days: the workflow's HTTPS leg. Writes
# ca.crt, http.crt and http.key into the folder given; the CA's key is deleted, so nothing
# else can ever be signed with it. test/unit/ci-workflow.test.ts serves the result over TLS
# and connects as the service does (the CA file, the host name checked).
set -euo pipefail
dir=${1:?usage: elastic-test-certs.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=nova-ci-ca" \
  -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
  -keyout http.key -out http.csr 2>/dev/null
printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > http.ext
openssl x509 -req -in http.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 \
  -extfile http.ext -out http.crt 2>/dev/null
rm -f ca.key ca.srl http.csr http.ext
chmod 0644 ca.crt http.crt
