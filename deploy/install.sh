#!/usr/bin/env bash
# `make install`: each step says what it does and how long it took, so that the native build
# (most of a first install) is not a silent pause.
#
#   install.sh python PY VENV   create VENV with PY, install Parcours and its tools into it
#   install.sh kafka            resolve the Kafka broker jars from Maven Central (cached)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

step() {  # step LABEL COMMAND...: run COMMAND, then say how long LABEL took; on failure say which step
  local label=$1 t0=$SECONDS log
  shift
  echo "install: $label ..."
  log=$(mktemp)
  # The output is kept back: a build backend's notices (setuptools' multi-line "Editable
  # installation" banner) are noise on success; pip's own warnings, and everything on failure, are not.
  if ! "$@" >"$log" 2>&1; then
    tail -n 80 "$log" >&2
    rm -f "$log"
    echo "install: $label failed (see the output above)" >&2
    exit 1
  fi
  grep -E '^(WARNING|ERROR)' "$log" || true
  rm -f "$log"
  echo "install: $label done in $((SECONDS - t0)) s"
}

case "${1:-}" in
  python)
    py=$2 venv=$3
    step "virtualenv $venv" "$py" -m venv "$venv"
    step "pip" "$venv/bin/pip" install -q --upgrade pip
    step "Parcours, its dependencies and the native decoder (cargo build, about 2 min on 2 cores)" \
      "$venv/bin/pip" install -q -e ".[dev]"
    ;;
  kafka)
    bash "$here/kafka/kafka.sh" cached && exit 0  # already resolved: nothing to say
    step "Kafka 3.9 jars from Maven Central" bash -c "bash '$here/kafka/kafka.sh' fetch >/dev/null"
    ;;
  *) echo "usage: install.sh {python PY VENV|kafka}" >&2; exit 2 ;;
esac
