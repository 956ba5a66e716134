# syntax=docker/dockerfile:1
# One image for every Python component of spyops: the operator and the edge workloads (gateway
# simulator, detector, bot) are one distribution with one dependency list, so per-component images
# would each carry the same virtualenv (README: "Images"). The command picks the component:
#   spyops operator | gateway-sim | detector | bot | backend ...
# Build from the repository root (`make images` does this with podman):
#   podman build -t ghcr.io/spyops/spyops:0.1.0 .
# BASE_IMAGE is the production base; `make images` falls back to the same Debian release and Python
# made from Debian packages where it cannot be pulled. Behind a TLS-inspecting proxy, pass its CA as
# a build secret (never stored in a layer): --secret id=cacert,src=/path/ca.pem
# Runs as uid 10001 with a read-only root filesystem; writable paths are volumes (/tmp, the
# journal and outbox under /var/lib/spyops) that the operator mounts.
ARG BASE_IMAGE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
# Dependencies first, from pyproject.toml alone: a change of source code reuses this layer.
COPY pyproject.toml README.md ./
RUN --mount=type=secret,id=cacert,target=/run/secrets/cacert \
    set -eu; \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    python3 -m venv /opt/spyops; \
    python3 -c 'import tomllib; print("\n".join(tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]))' > /tmp/requirements.txt; \
    /opt/spyops/bin/pip install --no-compile -r /tmp/requirements.txt
COPY src ./src
COPY operator ./operator
COPY workloads ./workloads
RUN --mount=type=secret,id=cacert,target=/run/secrets/cacert \
    set -eu; \
    if [ -s /run/secrets/cacert ]; then export PIP_CERT=/run/secrets/cacert; fi; \
    /opt/spyops/bin/pip install --no-compile --no-deps . ; \
    /opt/spyops/bin/python -m compileall -q /opt/spyops/lib

FROM ${BASE_IMAGE}
LABEL org.opencontainers.image.title="spyops" \
      org.opencontainers.image.description="spyops operator, gateway simulator, detector, bot and backend" \
      org.opencontainers.image.source="https://github.com/spyops/spyops" \
      org.opencontainers.image.licenses="Apache-2.0"
RUN groupadd --system --gid 10001 spyops \
    && useradd --system --uid 10001 --gid spyops --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin spyops \
    && mkdir -p /var/lib/spyops \
    && chown 10001:10001 /var/lib/spyops
COPY --from=build /opt/spyops /opt/spyops
# No .pyc writes at run time (the root filesystem is read-only; the build compiled them).
ENV PATH=/opt/spyops/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1
USER 10001:10001
EXPOSE 8080
ENTRYPOINT ["spyops"]
CMD ["--help"]
