#!/usr/bin/env bash
# Builds the local stand-in for the Dockerfile's default base image, python:3.11-slim, when
# podman's storage does not hold it yet: Debian bookworm (debootstrap, from this machine's apt
# mirror) with Python 3.11, imported under the official name so `podman build` pulls nothing.
# Kept in podman's own storage between runs; `podman rmi docker.io/library/python:3.11-slim`
# forces a rebuild. Needs root (debootstrap).
set -euo pipefail

image=${BASE_IMAGE:-docker.io/library/python:3.11-slim}
export CONTAINERS_CONF=${CONTAINERS_CONF:-$(cd "$(dirname "$0")" && pwd)/containers.conf}
if podman image exists "$image"; then
    exit 0
fi

# The first Debian mirror apt is configured with (one-line or deb822 sources).
mirror=${DEBIAN_MIRROR:-$(
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources \
        2>/dev/null || true; } | grep -oE '(https?|file)://[^ ]*/debian/?( |$)' | head -1 | tr -d ' '
)}
mirror=${mirror:-http://deb.debian.org/debian}

root=$(mktemp -d /var/tmp/kuaike-base.XXXXXX)
unmount_all() {  # debootstrap can leave /proc mounted in the target: never archive or delete it
    grep -o " $root/[^ ]*" /proc/mounts | sort -r | xargs -r -n1 umount -l || true
}
trap 'unmount_all; rm -rf --one-file-system "$root" "$root.log"' EXIT
echo "building $image: Debian bookworm from $mirror (debootstrap, about a minute)"
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates \
    bookworm "$root" "$mirror" >"$root.log" 2>&1 || { tail -20 "$root.log"; exit 1; }
unmount_all
ln -sf /usr/bin/python3 "$root/usr/local/bin/python"
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/locale/*
tar -C "$root" --numeric-owner --one-file-system -c . | podman import \
    --change 'ENV LANG=C.UTF-8' \
    --change 'CMD ["python3"]' \
    --change 'LABEL org.kuaike.base="debootstrap bookworm, built locally by containers/base-image.sh"' \
    - "$image" >/dev/null
echo "built $image ($(podman image inspect --format '{{.Size}}' "$image") bytes)"
