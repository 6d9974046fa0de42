#!/usr/bin/env bash
# The checks that need a GPU, in one run, for a machine that has one (CI has none, and
# there the `gpu` tests are reported as skipped):
#   1. the tests marked `gpu`: blocks scored on the GPU give the CPU's labels, and
#      saetax's LocalCluster gives each worker its own GPU with the CPU's labels;
#   2. bench_scale.py --plan: one default run at 65,536 × 1,024 on the CPU and with its
#      blocks scored on the GPU, the figure docs/scale.md's plan needs.
# From the repository root, after the README's test set-up with a CUDA build of torch
# (install.sh pins the CPU build unless told otherwise):
#     TORCH_SPEC=torch bash scripts/install.sh --test && bash benchmarks/device_check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
python=${PYTHON:-.venv/bin/python}
"$python" - <<'PY'
import torch
if not torch.cuda.is_available():
    build = (
        "a CPU build of torch: install a CUDA one, e.g. a fresh .venv made with "
        "TORCH_SPEC=torch bash scripts/install.sh --test"
        if torch.version.cuda is None
        else f"a CUDA {torch.version.cuda} build, but no device or driver"
    )
    raise SystemExit(f"device_check: torch {torch.__version__} sees no CUDA device here ({build}); nothing checked")
for i in range(torch.cuda.device_count()):
    p = torch.cuda.get_device_properties(i)
    print(f"GPU {i}: {p.name}, {p.total_memory / 2**30:.0f} GiB; torch {torch.__version__}")
PY
"$python" -m pytest -q -m gpu -rs -p no:cacheprovider
"$python" benchmarks/bench_scale.py --plan
