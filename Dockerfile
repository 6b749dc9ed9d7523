# syntax=docker/dockerfile:1
#
# Relaybase container images: one file, one target per service.
#
#   docker build --target realtime-node    -t relaybase/realtime-node:0.1.0 .
#   docker build --target control-plane    -t relaybase/control-plane:0.1.0 .
#   docker build --target rest-publish-api -t relaybase/rest-publish-api:0.1.0 .
#   docker build --target all-in-one       -t relaybase/all-in-one:0.1.0 .
#
# The services are TypeScript and run with tsx in development. The images run compiled
# JavaScript instead: docker/build.ts bundles each entry point (our workspace packages
# inlined, every npm package left to node_modules), so the final stage holds plain
# `node`, production dependencies from `npm ci --omit=dev`, the bundles and the SQL
# migrations, and no tsx, esbuild, TypeScript, npm or yarn (docs/self-hosting.md#images).
#
# Pin the base by digest in your own builds (`--build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:…`);
# the tag alone is pinned here because no registry can be reached where this file was written.
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---- manifests: what npm ci needs, so dependency layers are cached across source changes.
# Every workspace of the root package.json must be listed (tests/self-hosting checks it).
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY packages/protocol/package.json packages/protocol/
COPY packages/server-kit/package.json packages/server-kit/
COPY packages/redis-kit/package.json packages/redis-kit/
COPY services/control-plane/package.json services/control-plane/
COPY services/realtime-node/package.json services/realtime-node/
COPY services/rest-publish-api/package.json services/rest-publish-api/
COPY sdk/package.json sdk/
COPY web/console/package.json web/console/
COPY all-in-one/package.json all-in-one/

# ---- build: all dependencies (dev included), then bundle every entry point.
FROM manifests AS build
RUN npm ci --no-audit --no-fund
COPY . .
RUN node --import tsx docker/build.ts && npm run build:console

# ---- prod-deps: production dependencies only.
FROM manifests AS prod-deps
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# ---- runtime: what every service image shares.
FROM ${NODE_IMAGE} AS runtime
# No package managers in the final stage: nothing installs at run time.
RUN rm -rf /usr/local/lib/node_modules/npm /usr/local/lib/node_modules/corepack \
      /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-*
ENV NODE_ENV=production \
    NODE_OPTIONS=--enable-source-maps \
    CONSOLE_DIR=/app/web/console/dist \
    HOST=0.0.0.0 \
    LOG_LEVEL=info
WORKDIR /app
COPY --from=prod-deps /src/ ./
COPY --from=build /src/services/control-plane/drizzle/ services/control-plane/drizzle/
COPY --from=build /src/services/control-plane/dist/bin/ services/control-plane/dist/bin/
COPY --from=build /src/services/realtime-node/dist/bin/ services/realtime-node/dist/bin/
COPY --from=build /src/services/rest-publish-api/dist/bin/ services/rest-publish-api/dist/bin/
COPY --from=build /src/all-in-one/dist/bin/ all-in-one/dist/bin/
# The console's static build: the control plane (and the all-in-one) serve it at `/`.
COPY --from=build /src/web/console/dist/ web/console/dist/
# The official image's `node` user; numeric, so Kubernetes can check runAsNonRoot.
USER 1000:1000
# Kubernetes ignores HEALTHCHECK (the chart has its own probes); docker and compose use it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch(`http://127.0.0.1:${process.env.PORT}/healthz`).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

FROM runtime AS realtime-node
ENV PORT=4001
EXPOSE 4001
# SIGTERM starts the drain (SHUTDOWN_DEADLINE_MS); node is PID 1 and handles it itself.
CMD ["node", "services/realtime-node/dist/bin/main.js"]

FROM runtime AS rest-publish-api
ENV PORT=4002
EXPOSE 4002
CMD ["node", "services/rest-publish-api/dist/bin/main.js"]

FROM runtime AS control-plane
ENV PORT=4000
EXPOSE 4000
# Migrations only (the chart's Job): node services/control-plane/dist/bin/migrate.js
CMD ["node", "services/control-plane/dist/bin/main.js"]

# Everything in one process with PGlite in /data (a volume): the quickstart, or a small
# single-node install. Set PUBLIC_URL to the address browsers use.
FROM runtime AS all-in-one
ENV DATA_DIR=/data \
    PORT=4000 \
    CONTROL_PLANE_PORT=4000 \
    REALTIME_PORT=4001 \
    REST_PORT=4002
USER root
RUN mkdir -p /data && chown 1000:1000 /data
USER 1000:1000
VOLUME /data
EXPOSE 4000 4001 4002
CMD ["node", "all-in-one/dist/bin/main.js"]
