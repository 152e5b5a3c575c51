# syntax=docker/dockerfile:1
# One image for every Gatehouse process: request and route workers, the front door (`gatehouse serve`),
# the codec server and the CLI. docker-compose.yml and deploy/k8s/ pick the process by command.

# ---- build: all dependencies, the prebuilt workflow bundle, then only production dependencies ----
FROM node:20.20.2-bookworm-slim AS build
WORKDIR /app
# better-sqlite3 compiles from source when no prebuilt binary matches the platform.
RUN apt-get update \
  && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# The worker loads this bundle (GATEHOUSE_WORKFLOW_BUNDLE) instead of bundling workflows at every start.
RUN npm run bundle:workflows
RUN npm prune --omit=dev --no-audit --no-fund \
  && rm -rf test bench docs deploy

# ---- runtime: production dependencies and sources only, run as the unprivileged `node` user ----
FROM node:20.20.2-bookworm-slim AS runtime
ENV NODE_ENV=production \
  GATEHOUSE_WORKFLOW_BUNDLE=dist/workflow-bundle.js \
  GATEHOUSE_HEALTH_PORT=8081
WORKDIR /app
# Code stays owned by root (read-only to the process); only the data directory is writable.
COPY --from=build /app /app
RUN mkdir -p /app/.data && chown node:node /app/.data
USER node
# 8080: the front door (`gatehouse serve`); 8081: worker /healthz and /readyz; 8888: the codec server;
# 9464: the worker's Prometheus /metrics (GATEHOUSE_METRICS_PORT, set by compose and Kubernetes).
EXPOSE 8080 8081 8888 9464
# tsx compiles the TypeScript sources as they load; `node --import tsx` keeps node as the process
# that receives SIGTERM, so a stopping container drains its workers.
CMD ["node", "--import", "tsx", "worker/start-platform.ts", "worker"]
