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

.PHONY: test demo setup binaries helm kstatus terraform-tools lint typecheck pytest pytest-existing-cluster clean node-tools chromium ib-insync strongswan

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

# Builds (once, then cached) a tiny command printing kstatus's verdict (sigs.k8s.io/cli-utils, what
# Flux uses for health), for the tests that judge the operator's statuses.
kstatus: setup
	$(BIN)/python -m spyops.toolchain.kstatus

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

# Every test once: the portable cluster tests (the ones that claim to run on any cluster: kind,
# k3s) run through that path (SPYOPS_TEST_USE_EXISTING_CLUSTER=1 + KUBECONFIG, against a separately
# started embedded control plane), everything else in the ordinary session.
PORTABLE := cluster and not embedded_only
pytest: setup binaries helm kstatus terraform-tools node-tools chromium ib-insync strongswan
	$(BIN)/pytest -m "not ($(PORTABLE))" $(PYTEST_ARGS)
	$(MAKE) pytest-existing-cluster

pytest-existing-cluster: setup binaries helm kstatus
	$(BIN)/python -m tests.run_on_existing_cluster $(PYTEST_ARGS)

# ib_insync 0.9.86 (its last release) for the gateway simulator's flows, in its own folder: it and
# ib_async each install a module named `eventkit` (eventkit and its fork aeventkit), so they cannot
# share the virtualenv. Pinned with its dependency; the tests put the folder first on PYTHONPATH.
IB_INSYNC_DIR := $(VENV)/ib-insync
IB_INSYNC_STAMP := $(IB_INSYNC_DIR)/.installed-ib_insync-0.9.86-eventkit-1.0.3

$(IB_INSYNC_STAMP): $(STAMP)
	rm -rf $(IB_INSYNC_DIR)
	$(BIN)/pip install --quiet --no-deps --target $(IB_INSYNC_DIR) ib_insync==0.9.86 eventkit==1.0.3
	rm -rf $(IB_INSYNC_DIR)/tests  # eventkit ships a top-level `tests` package that would shadow ours
	touch $(IB_INSYNC_STAMP)

ib-insync: $(IB_INSYNC_STAMP)

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

# Debian's strongSwan for the tunnel tests (tests/tunnel): charon and swanctl, the standard
# crypto plugins (AES-GCM, OpenSSL), and libcharon-extra-plugins for kernel-libipsec (ESP in
# user space; this kernel has no ESP), and iptables to drop ESP inside a test's namespace. The
# tests run their own charon in namespaces: nothing starts here.
STRONGSWAN_PACKAGES := strongswan-charon strongswan-swanctl libstrongswan-standard-plugins libcharon-extra-plugins \
  iptables
STRONGSWAN_FILES := /usr/lib/ipsec/charon /usr/sbin/swanctl /usr/lib/ipsec/plugins/libstrongswan-gcm.so \
  /usr/lib/ipsec/plugins/libstrongswan-kernel-libipsec.so /usr/sbin/iptables
strongswan:
	@ls $(STRONGSWAN_FILES) >/dev/null 2>&1 || \
	  { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $(STRONGSWAN_PACKAGES); }

clean:
	rm -rf $(VENV) .mypy_cache .pytest_cache .ruff_cache
