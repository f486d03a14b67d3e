#!/usr/bin/env bash
# Measure every record behind the docs again on this machine and render every marked table from them: the default
# `deepgen reproduce` run (one record per command) and the README's quick start, then the pages and the default
# runs' plots. About 5 minutes on 2 cores. One thread, as the records here were measured.
set -euo pipefail
cd "$(dirname "$0")/.."
export OMP_NUM_THREADS=1
deepgen reproduce -O docs/records -q >/dev/null
deepgen efficiency --models squeezenet,mobilenet -o docs/records/quickstart.json -q >/dev/null
python -m deepgen_cli.report.docs
# the default runs' pictures, drawn from the same records (`deepgen report REC --plot`)
deepgen report docs/records/memorize.json --plot docs/memorize-default.png >/dev/null
deepgen report docs/records/norm-compare.json --plot docs/norm-compare-default.png >/dev/null
deepgen report docs/records/probe.json --plot docs/probe-default.png >/dev/null
deepgen report docs/records/reuse.json --plot docs/reuse-fig5.png >/dev/null
