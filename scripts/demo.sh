#!/usr/bin/env bash
# `make demo`: a parcel carrier in a box, end to end, on this machine alone.
# 1. start the embedded PostgreSQL (logistics + CRM databases) and create the business schemas
# 2. simulate two weeks of the carrier's history (first run only), then capture it into DuckDB
# 3. build the warehouse and print the daily KPIs
# 4. run the carrier live for a little while, capture and build again (incremental), print again
set -euo pipefail
cd "$(dirname "$0")/.."
kuaike=.venv/bin/kuaike
export KUAIKE_DATA_DIR="${KUAIKE_DATA_DIR:-.kuaike}"
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

step "embedded PostgreSQL and the business schemas"
$kuaike db start
$kuaike schema create

if [ ! -e "$KUAIKE_DATA_DIR/kuaike.duckdb" ]; then
    step "simulating 14 days of history (COPY)"
    $kuaike simulate --history-days 14 --orders-per-day 3000 --seed 1 \
        --warehouses 40 --dots 120 --customers 3000
fi

step "capturing every change into the DuckDB replica"
$kuaike capture --until-caught-up
step "building the warehouse"
$kuaike build
.venv/bin/python scripts/demo_report.py

step "the carrier runs live for 20 s (20 orders/s, parcels in flight move on)"
$kuaike simulate --rate 20 --duration 20
$kuaike capture --until-caught-up
$kuaike build
.venv/bin/python scripts/demo_report.py --days 3

cat <<'TEXT'

Next:
  .venv/bin/kuaike simulate --rate 20 &    # keep the carrier running
  .venv/bin/kuaike run                     # capture continuously, build every 5 minutes
  .venv/bin/kuaike status                  # (when run is stopped) positions, lag, retained WAL
  .venv/bin/kuaike db stop                 # stop the embedded PostgreSQL; data stays in .kuaike/
TEXT
