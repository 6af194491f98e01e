# The secdr worker and CLI, for docker-compose.yml (service secdr-worker), on Node 24 LTS
# (the same 24.19.0 the local setup installs). The TypeScript is compiled in a build stage;
# the image runs the compiled JavaScript in dist/ with the production node_modules only.
#
#   docker compose build secdr-worker
#   docker compose run --rm secdr-worker snapshot --wait     # any `secdr` command
FROM node:24.19.0-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npx tsc -p tsconfig.build.json

FROM node:24.19.0-bookworm-slim

ENV NODE_ENV=production \
    SECDR_CONFIG=/etc/secdr/config.yaml

WORKDIR /app

# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# Owned by root and read-only for the runtime user. .dockerignore keeps secrets (.secdr/, .env)
# and local state out of the build context. deploy/ holds the Vault policies and rules.
COPY --from=build /src/dist ./dist
COPY deploy ./deploy
COPY examples ./examples

# Staging and reports (deploy/compose/secdr.yaml); a volume mounted here inherits the ownership.
RUN mkdir -p /var/lib/secdr/staging /var/lib/secdr/reports \
    && chown -R node:node /var/lib/secdr

USER node

# Prometheus metrics (config metrics.port).
EXPOSE 9464

# One process, no npm/npx wrapper, so SIGTERM reaches the worker and it shuts down gracefully.
ENTRYPOINT ["node", "dist/scripts/secdr.js"]
CMD ["worker"]
