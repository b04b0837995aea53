# vmsafe-operator. Every target installs what it needs first.
SHELL := /bin/bash
NODE_MODULES := node_modules/.package-lock.json
VMSAFE := ./bin/vmsafe

.PHONY: install build build-ui crds crds-check lint test test-unit dev bench clean kubectl chromium python-kubernetes

install: $(NODE_MODULES)

# npm ci only when the lockfile changed since the last install.
$(NODE_MODULES): package-lock.json
	PUPPETEER_SKIP_DOWNLOAD=1 npm ci --no-audit --no-fund
	@touch $(NODE_MODULES)

# The real kubectl is needed by the end-to-end tests; Debian's package provides it.
kubectl:
	@command -v kubectl >/dev/null || { apt-get update -qq && apt-get install -y -qq kubernetes-client; }

# Debian's Chromium drives the dashboard's end-to-end tests and the ui benchmark (never a downloaded browser).
chromium:
	@test -x /usr/bin/chromium || { apt-get update -qq && apt-get install -y -qq chromium; }

# Debian's official Python client (python3-kubernetes, for /usr/bin/python3) drives the Python client's
# end-to-end test (test/e2e/python-client.test.ts): a client written elsewhere, as users run it.
python-kubernetes:
	@/usr/bin/python3 -c 'import kubernetes' 2>/dev/null || { apt-get update -qq && apt-get install -y -qq python3-kubernetes; }

# The dashboard page, bundled with esbuild into dist/ui/app.js (vmsafe ui bundles on the fly without it).
build-ui: install
	npm run build:ui

# Plain JavaScript in dist/ (scripts/build.mjs: esbuild + the testing types); bin/vmsafe runs it.
build: install
	npm run build

crds: install
	$(VMSAFE) crds -o crds

# Fails when crds/ differs from what the schemas generate (the test suite checks the same).
crds-check: install
	@tmp=$$(mktemp -d) && $(VMSAFE) crds -o $$tmp && diff -ru crds $$tmp && rm -rf $$tmp

lint: install
	npx tsc --noEmit -p tsconfig.json
	npx tsc --noEmit -p tsconfig.ui.json
	npx eslint .

# Built first: the end-to-end tests run bin/vmsafe, which then runs dist/ (as users do), not tsx.
test: install kubectl chromium python-kubernetes lint build
	npx vitest run

dev: install kubectl
	$(VMSAFE) dev --demo

# The benchmarks live in bench/ (not in the package): bench/run.ts.
bench: build
	npm run bench -- --out bench/results

clean:
	rm -rf dist .vmsafe
