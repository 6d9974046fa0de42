#!/usr/bin/env bash
# Set up everything the project needs on a fresh machine: a virtual environment in .venv
# with the package installed, and (with --test) the test extras and Debian's chromium.
#
#   bash scripts/install.sh          # runtime only
#   bash scripts/install.sh --test   # plus pytest, hypothesis, playwright, chromium
#
# torch is installed first, pinned to the CPU build found on this kind of machine, so that
# resolving the other requirements never pulls a multi-GB CUDA wheel. Set TORCH_SPEC to
# override (e.g. TORCH_SPEC="torch" on a GPU box).
set -euo pipefail
cd "$(dirname "$0")/.."

WITH_TEST=0
[[ "${1:-}" == "--test" ]] && WITH_TEST=1
PY=${PYTHON:-python3}
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0}
export PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_PROGRESS_BAR=off

if [[ ! -x .venv/bin/python ]]; then
  echo "[install] creating .venv with $($PY --version)"
  "$PY" -m venv .venv
fi
PIP=(.venv/bin/python -m pip install --quiet)

extras=""
[[ $WITH_TEST == 1 ]] && extras="[test]"
stamp=".venv/.installed${extras}"
want="$(cat pyproject.toml | sha256sum | cut -c1-16) $TORCH_SPEC"
if [[ ! -f "$stamp" || "$(cat "$stamp")" != "$want" ]]; then
  if ! .venv/bin/python -c "import torch" 2>/dev/null; then
    echo "[install] $TORCH_SPEC"
    "${PIP[@]}" "$TORCH_SPEC"
  fi
  echo "[install] art-sae-taxonomy$extras (editable)"
  "${PIP[@]}" -e ".$extras"
  echo "$want" > "$stamp"
else
  echo "[install] .venv is up to date"
fi

if [[ $WITH_TEST == 1 ]] && [[ ! -x /usr/bin/chromium ]]; then
  echo "[install] Debian chromium (browser tests)"
  SUDO=""
  [[ $(id -u) != 0 ]] && command -v sudo >/dev/null && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get install -y -q chromium >/dev/null 2>&1 || {
    $SUDO apt-get update -q >/dev/null && $SUDO apt-get install -y -q chromium >/dev/null
  }
  /usr/bin/chromium --version
fi
