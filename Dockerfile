# rekey: Debian-based Node 24 LTS image with Debian's headless Chromium for the browser target.
# Build: docker build -t rekey .    Run: docker run --rm -v "$PWD:/work" rekey validate /work/my-mapping.yaml
# The quick start inside the image: docker run --rm rekey run /app/examples/pipelines/change-of-address.yaml

FROM node:24-bookworm-slim AS build
WORKDIR /app
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY . .
RUN npm rebuild && npm run build && npm prune --omit=dev

FROM node:24-bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends chromium-headless-shell tini ca-certificates \
 && rm -rf /var/lib/apt/lists/*
ENV NODE_ENV=production
WORKDIR /app
COPY --from=build /app/package.json /app/package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/mappings/mapping.schema.json ./mappings/mapping.schema.json
COPY --from=build /app/pipelines/definition/pipeline.schema.json ./pipelines/definition/pipeline.schema.json
# The console's page templates (its stylesheet is built into dist).
COPY --from=build /app/runner/console/views ./runner/console/views
COPY --from=build /app/examples ./examples
COPY --from=build /app/fixtures ./fixtures
COPY --from=build /app/docs ./docs
# /work belongs to node: without a volume there, `rekey run` keeps its state in /work/.rekey. So does
# /app/.rekey, where the bundled examples keep their SQLite "legacy" database.
RUN ln -s /app/dist/runner/main.js /usr/local/bin/rekey && chmod +x /app/dist/runner/main.js \
 && mkdir -p /work /app/.rekey && chown node:node /work /app/.rekey
USER node
WORKDIR /work
ENTRYPOINT ["/usr/bin/tini", "--", "node", "/app/dist/runner/main.js"]
CMD ["--help"]
