#!/usr/bin/env bash
# Roster's benchmark suite, one command: bench/run.sh
# BENCH_SECONDS (10), BENCH_ROUNDS (3) and BENCH_SIZES ("10000 100000") shorten it.
set -euo pipefail
exec python3 "$(dirname "$0")/run.py" "$@"
