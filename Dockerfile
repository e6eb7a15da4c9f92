# Berth in a container: build with the dev tools, run with production dependencies only.
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
RUN npm ci
COPY src ./src
COPY test ./test
COPY native-bench ./native-bench
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY bin ./bin
# Inside a container the registry listens on every interface and keeps data in a volume. The
# defaults are a config file (as the reference image's /etc/docker/registry/config.yml), not
# REGISTRY_* variables, so that a mounted config choosing another driver (s3) just works.
COPY examples/container-config.yml /etc/berth/config.yml
RUN mkdir -p /var/lib/registry && chown node:node /var/lib/registry
VOLUME /var/lib/registry
EXPOSE 5000
USER node
ENTRYPOINT ["node", "--max-semi-space-size=2", "bin/berth.js"]
CMD ["serve", "/etc/berth/config.yml"]
