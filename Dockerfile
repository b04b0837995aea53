# The vmsafe image: `vmsafe operator` and `vmsafe agent` (manifests/ pick the verb with args).
# Built from the same tarball `npm pack` makes, installed without dev dependencies: plain JavaScript,
# no TypeScript loader, nothing written at run time (works with readOnlyRootFilesystem, no /tmp).
#   docker build -t ghcr.io/vmsafe/vmsafe-operator:0.1.0 .

# 1. build: dev dependencies, `npm pack` (its prepack step runs `npm run build` into dist/).
FROM node:20-bookworm-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN mkdir /pkg && npm pack --pack-destination /pkg && mv /pkg/vmsafe-operator-*.tgz /pkg/vmsafe-operator.tgz

# 2. install: the tarball with runtime dependencies only, as a user would.
FROM node:20-bookworm-slim AS install
WORKDIR /app
COPY --from=build /pkg/vmsafe-operator.tgz /tmp/
RUN npm init -y >/dev/null && npm install --omit=dev --no-audit --no-fund /tmp/vmsafe-operator.tgz && rm -rf /tmp/* /root/.npm

# 3. run: distroless Node 20, non-root (uid 65532), no shell.
FROM gcr.io/distroless/nodejs20-debian12:nonroot
WORKDIR /app
COPY --from=install /app/node_modules /app/node_modules
USER 65532:65532
# test/package/pack.test.ts runs this exact command from the packed tarball; the V8 flags are
# src/cli/node-flags.ts's (test/cli/node-flags.test.ts).
ENTRYPOINT ["/nodejs/bin/node", "--enable-source-maps", "--max-semi-space-size=32", "/app/node_modules/vmsafe-operator/dist/cli/main.js"]
CMD ["--help"]
