# The two commands a newcomer needs: `make test` and `make demo`.
# Everything expensive lives outside the checkout (pip's cache, the Go module
# and build caches, the built control-plane binaries under ~/.cache/spyops), so
# a second run on the same machine is fast.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml | sha256sum | cut -c1-16)
PYTEST_ARGS ?=

export PIP_DISABLE_PIP_VERSION_CHECK := 1

.PHONY: test demo setup binaries helm terraform-tools lint typecheck pytest clean node-tools chromium \
	node-runtime node-binaries images

test: setup binaries lint typecheck pytest

# The whole platform on this machine (embedded Kubernetes, operator, example resources, backend and
# dashboard, workloads as local processes) until Ctrl-C. Options: make demo DEMO_ARGS="--port-base 9000
# --scenario examples/demo-scenario.yaml"; see `spyops demo --help`.
DEMO_ARGS ?=
demo: setup binaries helm
	$(BIN)/spyops demo $(DEMO_ARGS)

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; assert sys.version_info >= (3, 11), "spyops needs Python >= 3.11, found " + sys.version'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade "pip>=24,<27"
	$(BIN)/pip install --quiet -e '.[dev]'
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

setup: $(STAMP)

# Builds (once, then cached) kube-apiserver, etcd, kube-controller-manager,
# kube-scheduler and kwok from their Go modules.
binaries: setup
	$(BIN)/spyops cluster build

# Builds (once, then cached) helm from its pinned Go module, for the chart tests.
helm: setup
	$(BIN)/python -m spyops.toolchain.helm

# Builds (once, then cached) OpenTofu and the azurerm provider from their Go
# modules into a local provider mirror, and installs checkov into its own
# virtualenv; all under ~/.cache/spyops.
terraform-tools: setup
	$(BIN)/spyops infra build-tools

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Every Python file, named explicitly: mypy's own directory crawl skips some modules of the
# namespace package spread over several roots.
typecheck: setup
	$(BIN)/mypy $$(find src operator workloads tests benchmarks -name '*.py' -not -path '*/node_modules/*')

pytest: setup binaries helm terraform-tools node-tools chromium node-binaries images
	$(BIN)/pytest $(PYTEST_ARGS)

# The real node's runtime and the image builder, from Debian (containerd + runc + CNI plugins for the
# node; podman, mmdebstrap and catatonit for the images and the pod sandbox image).
NODE_RUNTIME_PACKAGES := containerd runc containernetworking-plugins podman buildah conmon catatonit \
	fuse-overlayfs uidmap iptables mmdebstrap
node-runtime:
	@missing=$$(for p in $(NODE_RUNTIME_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y --no-install-recommends $$missing; fi

# Builds (once, then cached) kubelet and kube-proxy from the pinned Kubernetes module and CoreDNS from
# its module, for `spyops cluster up --node real`.
node-binaries: setup
	$(BIN)/spyops cluster build --node real

# Builds the image the chart and the operator name (ghcr.io/spyops/spyops:<appVersion>) with podman;
# layers are cached, so a second run only rebuilds what changed.
images: setup node-runtime
	$(BIN)/spyops images build

# Node test tools pinned in tools/node (Azurite for Table Storage, playwright-core to drive
# Chromium). `npm ci` runs again only when the lockfile changes (the stamp carries its hash).
NODE_TOOLS := tools/node
NODE_STAMP := $(NODE_TOOLS)/node_modules/.installed-$(shell sha256sum $(NODE_TOOLS)/package-lock.json | cut -c1-16)

$(NODE_STAMP): $(NODE_TOOLS)/package-lock.json
	cd $(NODE_TOOLS) && npm ci --no-audit --no-fund
	rm -f $(NODE_TOOLS)/node_modules/.installed-*
	touch $(NODE_STAMP)

node-tools: $(NODE_STAMP)

# Debian's Chromium for the dashboard's browser test (playwright-core drives it by path and
# never downloads a browser).
chromium:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
