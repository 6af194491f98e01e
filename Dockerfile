# The secdr worker and CLI, for docker-compose.yml (service secdr-worker).
# TypeScript runs through tsx, a runtime dependency, so the image holds the sources and the
# production node_modules only: no build step.
#
#   docker compose build secdr-worker
#   docker compose run --rm secdr-worker snapshot --wait     # any `secdr` command
FROM node:20.20.2-bookworm-slim

ENV NODE_ENV=production \
    SECDR_CONFIG=/etc/secdr/config.yaml

WORKDIR /app

# Dependencies first, so a source change does not reinstall them.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund \
    && npm cache clean --force

# Owned by root and read-only for the runtime user. .dockerignore keeps secrets (.secdr/, .env)
# and local state out of the build context.
COPY . .

# Staging and reports (deploy/compose/secdr.yaml); a volume mounted here inherits the ownership.
RUN mkdir -p /var/lib/secdr/staging /var/lib/secdr/reports \
    && chown -R node:node /var/lib/secdr

USER node

# Prometheus metrics (config metrics.port).
EXPOSE 9464

# One process, no npm/npx wrapper, so SIGTERM reaches the worker and it shuts down gracefully.
ENTRYPOINT ["node", "--import", "tsx", "scripts/secdr.ts"]
CMD ["worker"]
