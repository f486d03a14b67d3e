#!/usr/bin/env bash
# Runs every GPU path of deepgen once and prints one line per path: ok with a throughput or ratio, or the
# error (benchmarks/gpu_check.py). On a machine without a CUDA GPU it prints "no GPU: skipped" and exits 0.
# Nothing is downloaded except fvcore from the package registry when it is missing (efficiency needs it).
#   bash benchmarks/gpu_check.sh [--log-dir DIR]
set -u
cd "$(dirname "$0")/.." || exit 1
PY="${PYTHON:-python}"
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)" >/dev/null 2>&1; then
  echo "no GPU: skipped"
  exit 0
fi
if ! "$PY" -c "import fvcore" >/dev/null 2>&1; then
  "$PY" -m pip install --quiet fvcore >&2 || echo "fvcore: pip install failed; the efficiency line will show the error" >&2
fi
"$PY" -c "import torch; print('GPU:', torch.cuda.get_device_name(0), '| torch', torch.__version__)"
exec "$PY" benchmarks/gpu_check.py "$@"
