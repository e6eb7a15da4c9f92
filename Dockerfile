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
# Inside a container the registry must listen on every interface, and keep data in a volume.
ENV REGISTRY_HTTP_ADDR=0.0.0.0:5000 \
    REGISTRY_STORAGE_FILESYSTEM_ROOTDIRECTORY=/var/lib/registry
RUN mkdir -p /var/lib/registry && chown node:node /var/lib/registry
VOLUME /var/lib/registry
EXPOSE 5000
USER node
ENTRYPOINT ["node", "bin/berth.js"]
CMD ["serve"]
