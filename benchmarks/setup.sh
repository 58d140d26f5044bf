#!/usr/bin/env bash
# Create (idempotently) the virtualenvs of the two peer servers the benchmark
# compares Runyard against. Packages come from PyPI only.
#
#   bash benchmarks/setup.sh            # create/refresh both venvs
#   PYTHON=python3.12 bash benchmarks/setup.sh
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENVS="${HERE}/.venvs"
PYTHON="${PYTHON:-python3}"
MLFLOW_VERSION="${MLFLOW_VERSION:-3.17.2}"
FML_VERSION="${FML_VERSION:-0.6.0}"

# make_venv NAME CHECK_CMD PIP_SPEC...
make_venv() {
    local name="$1" check="$2"
    shift 2
    local dir="${VENVS}/${name}"
    if [[ -x "${dir}/bin/python" ]] && "${dir}/bin/python" -c "${check}" >/dev/null 2>&1; then
        echo "[setup] ${name}: already installed (${dir})"
        return 0
    fi
    echo "[setup] ${name}: creating ${dir}"
    "${PYTHON}" -m venv "${dir}"
    "${dir}/bin/python" -m pip install --quiet --upgrade pip
    "${dir}/bin/python" -m pip install --quiet "$@"
    "${dir}/bin/python" -c "${check}"
    echo "[setup] ${name}: ok"
}

mkdir -p "${VENVS}"

make_venv mlflow \
    "import importlib.metadata as m; assert m.version('mlflow') == '${MLFLOW_VERSION}'" \
    "mlflow==${MLFLOW_VERSION}"

make_venv fml \
    "import importlib.metadata as m, os, sys; assert m.version('fasttrackml') == '${FML_VERSION}'; assert os.access(os.path.join(os.path.dirname(sys.executable), 'fml'), os.X_OK)" \
    "fasttrackml==${FML_VERSION}"

# Optional: psycopg for --backend postgres database management and for the
# mlflow server's SQLAlchemy PostgreSQL dialect.
if [[ "${WITH_POSTGRES:-0}" == "1" ]]; then
    "${VENVS}/mlflow/bin/python" -m pip install --quiet "psycopg[binary]" "psycopg2-binary"
fi

echo "[setup] done: ${VENVS}/mlflow/bin/mlflow, ${VENVS}/fml/bin/fml"
