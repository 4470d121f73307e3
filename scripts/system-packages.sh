#!/usr/bin/env bash
# Installs the system packages kuaike's tests start as private servers: PostgreSQL server
# binaries (initdb, postgres) and MariaDB (mariadbd, mariadb-install-db), the locale sources
# one test builds a German locale from, chromium (the browser tests drive it through Playwright;
# never `playwright install`), npm (the pages' front-end libraries, `make assets`), and podman
# (with runc and debootstrap) for the image and compose tests (no Docker daemon).
# On Debian/Ubuntu as root it runs apt-get; elsewhere it prints the command to run.
set -euo pipefail

missing=()
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || missing+=(postgresql)
command -v mariadb-install-db >/dev/null || missing+=(mariadb-server)
# Locale sources: a test builds de_DE.UTF-8 for a PostgreSQL server that speaks German.
[ -f /usr/share/i18n/locales/de_DE ] || missing+=(locales)
# sysbench: a test replicates its oltp_read_write workload (pgbench comes with PostgreSQL).
command -v sysbench >/dev/null || missing+=(sysbench)
command -v chromium >/dev/null || missing+=(chromium)
command -v npm >/dev/null || missing+=(npm)
# A Chinese font, so the browser tests' screenshots show the pages' Chinese labels.
[ -d /usr/share/fonts/truetype/wqy ] || missing+=(fonts-wqy-microhei)
# podman builds and runs the image (runc: crun fails on hybrid cgroups here; containers.conf);
# debootstrap builds the local base image; tini is the image's init (installed in the image).
command -v podman >/dev/null || missing+=(podman)
command -v runc >/dev/null || missing+=(runc)
command -v debootstrap >/dev/null || missing+=(debootstrap)
[ ${#missing[@]} -eq 0 ] && exit 0

if command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    echo "installing system packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
    echo "kuaike's tests need: ${missing[*]}. Install them, e.g.:"
    echo "    sudo apt-get install ${missing[*]}"
    exit 1
fi
