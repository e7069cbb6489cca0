#!/usr/bin/env bash
# Run a command with the local broker up: starts it if it is not running, and stops it on exit
# (success, failure or interrupt) if this script started it. Exit status: the command's.
set -euo pipefail
kit="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
started=0
cleanup() { if [[ $started == 1 ]]; then "$kit/broker.sh" stop >&2 || true; fi; }
trap cleanup EXIT
if ! "$kit/broker.sh" status >/dev/null 2>&1; then
  "$kit/broker.sh" start >&2
  started=1
fi
"$@"
