#!/usr/bin/env bash
# The image workflow's steps after `make images` (podman, no daemon):
#   archive  tag every image `spyops images list` names as $REGISTRY/<repository>:$IMAGE_TAG and
#            save each as an OCI archive in build/images/ (what the scanners read)
#   scan     Trivy on every archive: SARIF for code scanning, a CycloneDX SBOM, and a failing exit
#            on fixable HIGH/CRITICAL vulnerabilities
#   push     sign in to ACR with the workflow's OIDC login (no stored password: `az acr login
#            --expose-token` hands podman a short-lived token), load the archives and push them
set -euo pipefail

out=build/images
action=${1:-}

die() {
  echo "error: $*" >&2
  exit 2
}

archive() {
  : "${REGISTRY:?set REGISTRY to the registry login server, e.g. acrspyopsdev01.azurecr.io}"
  : "${IMAGE_TAG:?set IMAGE_TAG, e.g. the commit SHA}"
  command -v podman >/dev/null || die "podman is not installed (make node-runtime)"
  mkdir -p "$out"
  : >"$out/images.txt"
  local ref state repository target
  while IFS=$'\t' read -r ref state; do
    [ "$state" = built ] || die "$ref is not built: run make images first"
    repository=${ref#*/}
    repository=${repository%:*}
    target="$REGISTRY/$repository:$IMAGE_TAG"
    podman tag "$ref" "$target"
    podman save --format oci-archive --output "$out/${repository//\//-}.tar" "$target"
    printf '%s\t%s\n' "$target" "$out/${repository//\//-}.tar" >>"$out/images.txt"
  done < <(.venv/bin/spyops images list)
  [ -s "$out/images.txt" ] || die "spyops images list named no image"
}

scan() {
  command -v trivy >/dev/null || die "trivy is not installed (the workflow installs it with aquasecurity/setup-trivy)"
  [ -s "$out/images.txt" ] || die "no archives in $out: run .ci/images.sh archive first"
  local target file status=0
  while IFS=$'\t' read -r target file; do
    trivy image --input "$file" --format sarif --output "${file%.tar}.sarif"
    trivy image --input "$file" --format cyclonedx --output "${file%.tar}.cdx.json"
    trivy image --input "$file" --severity HIGH,CRITICAL --ignore-unfixed --exit-code 1 || status=1
    echo "scanned $target"
  done <"$out/images.txt"
  return "$status"
}

push() {
  : "${REGISTRY:?set REGISTRY to the registry login server, e.g. acrspyopsdev01.azurecr.io}"
  command -v podman >/dev/null || die "podman is not installed (make node-runtime)"
  command -v az >/dev/null || die "the Azure CLI (az) is not installed"
  [ -s "$out/images.txt" ] || die "no archives in $out: run .ci/images.sh archive first"
  # The user name ACR expects with an Entra ID access token.
  az acr login --name "${REGISTRY%%.*}" --expose-token --output tsv --query accessToken |
    podman login "$REGISTRY" --username 00000000-0000-0000-0000-000000000000 --password-stdin
  local target file
  while IFS=$'\t' read -r target file; do
    podman load --input "$file"
    podman push "$target"
  done <"$out/images.txt"
}

case "$action" in
  archive) archive ;;
  scan) scan ;;
  push) push ;;
  *) die "usage: .ci/images.sh archive|scan|push (got '${action}')" ;;
esac
