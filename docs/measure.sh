#!/usr/bin/env bash
# Measure every record behind the docs again on this machine and render every marked table from them: the default
# `deepgen reproduce` run (one record per command) and the README's quick start, then the pages. About 5 minutes
# on 2 cores. One thread, as the records here were measured.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
deepgen reproduce -O docs/records -q >/dev/null
deepgen efficiency --models squeezenet,mobilenet -o docs/records/quickstart.json -q >/dev/null
python -m deepgen_cli.report.docs
