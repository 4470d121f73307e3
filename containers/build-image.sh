#!/usr/bin/env bash
# `make image`: builds the kuaike image from the Dockerfile with podman (no Docker daemon),
# on the local base image when no registry is reachable (containers/base-image.sh).
# Usage: containers/build-image.sh [TAG]   (default localhost/kuaike:latest)
#
# pip inside the build uses this machine's package index: PIP_INDEX_URL / PIP_EXTRA_INDEX_URL
# from the environment, else `pip config` (global.index-url, global.extra-index-url; file://
# indexes are skipped, a build cannot see them). HTTPS inside the build trusts this machine's CA
# bundle (PIP_CERT, pip's global.cert, else /etc/ssl/certs/ca-certificates.crt), mounted
# read-only over the image's own bundle for the build only: it is not in the image.
set -euo pipefail
cd "$(dirname "$0")/.."

tag=${1:-localhost/kuaike:latest}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$PWD/containers/containers.conf}
bash containers/base-image.sh

settings=$(python3 -m pip config list 2>/dev/null || true)  # read once: pip starts slowly
pip_config() {  # a pip setting (file:// indexes left out), or nothing
    sed -n "s/^$1='\(.*\)'\$/\1/p" <<<"$settings" | tr ' ' '\n' | grep -v '^file:' | paste -sd ' ' || true
}
index=${PIP_INDEX_URL:-$(pip_config global.index-url)}
extra=${PIP_EXTRA_INDEX_URL:-$(pip_config global.extra-index-url)}
ca=${PIP_CERT:-$(pip_config global.cert)}
ca=${ca:-/etc/ssl/certs/ca-certificates.crt}

args=(--format docker --layers --tag "$tag")
[ -n "$index" ] && args+=(--build-arg "PIP_INDEX_URL=$index")
[ -n "$extra" ] && args+=(--build-arg "PIP_EXTRA_INDEX_URL=$extra")
if [ -f "$ca" ]; then
    args+=(--volume "$(realpath "$ca"):/etc/ssl/certs/ca-certificates.crt:ro")
    args+=(--build-arg "PIP_CERT=/etc/ssl/certs/ca-certificates.crt")
fi
podman build "${args[@]}" . 
echo "built $tag: $(podman image inspect --format '{{.Size}}' "$tag" | numfmt --to=si)B"
