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

.PHONY: test demo setup tools system-packages binaries node-binaries helm kstatus terraform-tools lint typecheck \
	pytest pytest-existing-cluster clean node-tools chromium ib-insync strongswan monitoring-tools node-runtime images
.PHONY: otelcol test-lane-main test-lane-terraform
.PHONY: actionlint ci-lint dashboard deploy-edge images-archive images-scan images-push terraform-check terraform-plan terraform-apply

# Two lanes side by side: the tests start as soon as the tools they need are built, while OpenTofu and
# the azurerm provider (a third of a cold build's CPU, needed only by tests/terraform) build at low
# priority beside them; tests/terraform (which also needs Azurite from node-tools) runs once those are
# ready. Warm, both lanes start at once.
test: setup system-packages node-tools lint typecheck
	$(MAKE) -j2 test-lane-main test-lane-terraform

test-lane-main: setup
	$(MAKE) -j3 -Oline $(TOOLS_FOR_TESTS)
	$(BIN)/pytest -m "not ($(PORTABLE))" --ignore=tests/terraform $(PYTEST_ARGS)
	$(MAKE) pytest-existing-cluster

# Its pytest output is printed in one piece when it ends, so the main lane's progress stays readable.
test-lane-terraform: setup node-tools
	nice -n 15 $(MAKE) terraform-tools
	@log=$$(mktemp); $(BIN)/pytest -m "not ($(PORTABLE))" tests/terraform $(PYTEST_ARGS) >$$log 2>&1; rc=$$?; \
	  echo "---- tests/terraform (lane beside the main tests) ----"; cat $$log; rm -f $$log; exit $$rc

# Everything the tests need, each built or installed once and cached outside the checkout. Debian
# packages first and one at a time (apt holds one lock); then the builds, three at a time: a Go build
# keeps both cores busy only while it compiles, so running them side by side also fills the time
# spent downloading modules, linking and installing (measured cold: see the README, "Tests").
TOOLS_FOR_TESTS := binaries node-binaries helm kstatus actionlint monitoring-tools node-tools ib-insync \
	images otelcol
TOOLS := $(TOOLS_FOR_TESTS) terraform-tools
tools: setup system-packages
	$(MAKE) -j3 -Oline $(TOOLS)

# One at a time even under `make -j`: apt-get holds one lock.
system-packages:
	$(MAKE) -j1 chromium strongswan node-runtime

# The whole platform on this machine (embedded Kubernetes, operator, example resources, backend and
# dashboard, workloads as local processes) until Ctrl-C. Options: make demo DEMO_ARGS="--port-base 9000
# --scenario examples/demo-scenario.yaml"; see `spyops demo --help`.
DEMO_ARGS ?=
# Where this machine can run containers (root and containerd), the demo's pods run on the real node.
DEMO_NODE := $(shell [ "$$(id -u)" = 0 ] && command -v containerd >/dev/null 2>&1 && echo node-binaries images)
demo: setup binaries helm monitoring-tools $(DEMO_NODE)
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

# Builds (once, then cached) a minimal OpenTelemetry Collector (OTLP receiver + file exporter) from its
# pinned Go module, for the end-to-end trace test and the tracing cost benchmark.
otelcol: setup
	$(BIN)/python -m spyops.toolchain.otelcol >/dev/null

# Builds (once, then cached) prometheus, promtool, alertmanager and amtool from their pinned Go
# modules, for the alert-rule, Alertmanager and dashboard tests and the demo.
monitoring-tools: setup
	$(BIN)/spyops monitoring build

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
	$(BIN)/mypy  # the files come from pyproject.toml's [tool.mypy] files (see tests/test_typecheck_covers.py)

# Every test once: the portable cluster tests (the ones that claim to run on any cluster: kind,
# k3s) run through that path (SPYOPS_TEST_USE_EXISTING_CLUSTER=1 + KUBECONFIG, against a separately
# started embedded control plane), everything else in the ordinary session.
PORTABLE := cluster and not embedded_only
pytest: setup tools
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

# The real node's runtime and the image builder, from Debian (containerd + runc + CNI plugins for the
# node; podman, mmdebstrap and catatonit for the images and the pod sandbox image).
NODE_RUNTIME_PACKAGES := containerd runc containernetworking-plugins podman buildah conmon catatonit \
	fuse-overlayfs uidmap iptables mmdebstrap
node-runtime:
	@missing=$$(for p in $(NODE_RUNTIME_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || echo $$p; done); \
	if [ -n "$$missing" ]; then apt-get update && apt-get install -y --no-install-recommends $$missing; fi

# Builds (once, then cached) kubelet and kube-proxy from the pinned Kubernetes module and CoreDNS from
# its module, for `spyops cluster up --node real`.
# After `binaries`: kubelet shares most of its packages with kube-apiserver, and two builds of the
# same packages at once would compile them twice.
node-binaries: setup binaries
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

# --- CI/CD: every job of .github/workflows/ is one of these targets (the workflows stay thin). ---

# Builds (once, then cached) actionlint from its pinned Go module (src/spyops/toolchain/actionlint-gomodule).
actionlint: setup
	$(BIN)/python -m spyops.toolchain.actionlint >/dev/null

# actionlint on every workflow (it runs shellcheck, from the virtualenv, on each run: script) and
# shellcheck on the CI scripts. tests/ci runs the same in `make test`.
ci-lint: actionlint
	"$$($(BIN)/python -m spyops.toolchain.actionlint)" -shellcheck=$(BIN)/shellcheck
	$(BIN)/shellcheck .ci/run .ci/*.sh

# The dashboard as a static site for Azure Static Web Apps, talking to BACKEND_URL (the
# backend_url output of `spyops infra output --env <env>`).
BACKEND_URL ?=
dashboard: setup
	$(BIN)/spyops dashboard build --backend-url "$(BACKEND_URL)" --out build/dashboard

# After `make images`: tag for REGISTRY with IMAGE_TAG and save OCI archives, scan them (Trivy:
# SARIF, CycloneDX SBOM, fail on fixable HIGH/CRITICAL), push them with an OIDC token.
REGISTRY ?=
IMAGE_TAG ?=
images-archive: setup
	REGISTRY="$(REGISTRY)" IMAGE_TAG="$(IMAGE_TAG)" .ci/images.sh archive
images-scan:
	.ci/images.sh scan
images-push:
	REGISTRY="$(REGISTRY)" .ci/images.sh push

# Installs or upgrades the chart on the cluster KUBECONFIG names and waits until everything is
# ready; a failed upgrade is rolled back (Helm 4's --rollback-on-failure is Helm 3's --atomic).
DEPLOY_ENV ?= dev
DEPLOY_TIMEOUT ?= 10m
DEPLOY_NAMESPACE ?= spyops-system
DEPLOY_RELEASE ?= spyops
DEPLOY_ARGS ?=
IMAGE_REPOSITORY ?=
deploy-edge: helm
	"$$($(BIN)/python -m spyops.toolchain.helm | tail -n 1)" upgrade --install $(DEPLOY_RELEASE) charts/spyops \
	  --namespace $(DEPLOY_NAMESPACE) --create-namespace -f charts/spyops/values-$(DEPLOY_ENV).yaml \
	  $(if $(IMAGE_REPOSITORY),--set image.repository=$(IMAGE_REPOSITORY)) $(if $(IMAGE_TAG),--set image.tag=$(IMAGE_TAG)) \
	  --rollback-on-failure --wait=watcher --timeout $(DEPLOY_TIMEOUT) $(DEPLOY_ARGS)

# OpenTofu: fmt, validate, mocked-provider plans, checkov (tests/terraform); then plan and apply the one
# root module terraform/stack for one environment (TF_ENV: terraform/envs/$(TF_ENV)'s backend.hcl and
# terraform.tfvars, plus TF_VAR_FILE from that folder on top, e.g. budget.tfvars for dev).
TF_ENV ?= dev
TF_VAR_FILE ?=
terraform-check: terraform-tools node-tools
	$(BIN)/pytest tests/terraform -q
terraform-plan: terraform-tools
	$(BIN)/spyops infra plan --env $(TF_ENV) $(if $(TF_VAR_FILE),--var-file $(TF_VAR_FILE))
terraform-apply: terraform-tools
	$(BIN)/spyops infra apply --env $(TF_ENV)
