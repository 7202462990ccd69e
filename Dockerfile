# pkt-ingest container image.
#
#   docker build -t pkt-ingest .                          # the runtime image (last stage)
#   docker build -t pkt-ingest-loadgen --target loadgen . # the load generator
#   docker run --rm -p 7400:7400 -p 7401:7401 -v pkt-data:/data pkt-ingest
#
# Stages: build (dev deps, compiles src/ to dist/), loadgen (build + load/,
# runs `npm run load`), runtime (production deps and dist/ only). The runtime
# stage comes last so a plain `docker build .` produces the server image.

# ---- build: install every dependency; `npm ci` runs `prepare` = `npm run build`
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm ci --no-audit --no-fund

# ---- loadgen: the TCP load generator, run from sources with the dev deps (tsx).
# The whole build stage's /app (sources, dev deps, dist/) plus load/.
FROM node:24-bookworm-slim AS loadgen
WORKDIR /app
COPY --from=build /app ./
COPY load ./load
USER node
CMD ["npm", "run", "load", "--", "--host", "pkt-ingest", "--port", "7400", "--duration", "3600", "--rate", "20000"]

# ---- runtime: production dependencies and the compiled server only
FROM node:24-bookworm-slim AS runtime
# jemalloc instead of glibc's malloc: after a burst of TLS handshakes glibc
# keeps the memory OpenSSL freed resident for good (+40 MiB per 1,000),
# jemalloc's background thread gives most of it back within seconds
# (OPERATIONS.md, Sizing; bench/tls/allocator.ts measures the same setting);
# ingest throughput, TLS and plain, measured within 2% of glibc's.
# The bare soname resolves on amd64 and arm64 alike. Back to glibc:
# `docker run -e LD_PRELOAD= ...`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libjemalloc2 \
    && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production \
    PKT_INGEST_HOST=0.0.0.0 \
    PKT_INGEST_CONFIG=/app/config/docker.json \
    LD_PRELOAD=libjemalloc.so.2 \
    MALLOC_CONF=background_thread:true,dirty_decay_ms:1000,muzzy_decay_ms:0
WORKDIR /app
COPY package.json package-lock.json ./
# --ignore-scripts: `prepare` would try to build, and dist/ comes from the build stage.
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY config ./config
# Capture files go to the volume (config/docker.json: /data/capture.pkt). The
# directory belongs to the unprivileged user; the application files stay
# root-owned and read-only to it.
RUN mkdir -p /data && chown node:node /data
VOLUME /data
USER node
EXPOSE 7400 7401
# Liveness only: /healthz answers 200 while the process runs. Readiness
# (/readyz, 503 while starting or draining) is for load balancers and
# orchestrators, which should not restart a draining container.
HEALTHCHECK --interval=10s --timeout=3s --retries=3 CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PKT_INGEST_HTTP_PORT || 7401) + '/healthz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
STOPSIGNAL SIGTERM
# Exec form, no shell wrapper: node is PID 1 and receives SIGTERM from
# `docker stop` directly. The server installs its own SIGTERM/SIGINT handlers
# (PID 1 gets no default signal actions, so this matters): it turns /readyz to
# 503, stops accepting, drains for up to shutdown.drainTimeoutMs (10 s by
# default), flushes captures and exits 0. Give `docker stop` more than the
# drain timeout (`--stop-timeout 20`, compose `stop_grace_period: 20s`), or
# it sends SIGKILL mid-drain. Node does not reap adopted zombie processes;
# the server spawns none, so an init is optional: use `docker run --init`
# only if you want tini to reap zombies (it forwards signals to node).
CMD ["node", "dist/cli.js", "serve"]
