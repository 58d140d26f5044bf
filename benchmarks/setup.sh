#!/usr/bin/env bash
# Create (idempotently) the virtualenvs of the two peer servers the benchmark
# compares Runyard against. Packages come from PyPI only.
#
#   bash benchmarks/setup.sh                    # create/refresh both venvs
#   PYTHON=python3.12 bash benchmarks/setup.sh  # pick the interpreter
#
# Re-running is cheap: an existing venv is kept and pip only checks the pins.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENVS="${HERE}/.venvs"
PYTHON="${PYTHON:-python3}"
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
FML_VERSION="${FML_VERSION:-0.6.0}"

# make_venv NAME PIP_SPEC...
make_venv() {
    local name="$1"
    shift
    local dir="${VENVS}/${name}"
    if [[ ! -x "${dir}/bin/python" ]]; then
        echo "[setup] ${name}: creating ${dir}"
        "${PYTHON}" -m venv "${dir}"
        "${dir}/bin/python" -m pip install --quiet --upgrade pip 2> >(grep -v "is ignored" >&2)
    fi
    echo "[setup] ${name}: pip install $*"
    # pip warns about each missing local mirror dir; hide just that noise.
    "${dir}/bin/python" -m pip install --quiet "$@" 2> >(grep -v "is ignored" >&2)
    "${dir}/bin/python" -m pip check >/dev/null 2>&1 || echo "[setup] ${name}: warning: pip check reports conflicts"
}

mkdir -p "${VENVS}"

# psycopg: the driver SQLAlchemy 2.1 uses for postgresql:// (--backend postgres).
make_venv mlflow "mlflow==${MLFLOW_VERSION}" "psycopg[binary]"
make_venv fml "fasttrackml==${FML_VERSION}"

"${VENVS}/mlflow/bin/python" - "${MLFLOW_VERSION}" <<'EOF'
import importlib.metadata as m, sys
assert m.version("mlflow") == sys.argv[1], m.version("mlflow")
import psycopg  # noqa: F401
EOF
"${VENVS}/fml/bin/fml" --version
"${VENVS}/mlflow/bin/mlflow" --version
echo "[setup] done: ${VENVS}/mlflow/bin/mlflow, ${VENVS}/fml/bin/fml"
