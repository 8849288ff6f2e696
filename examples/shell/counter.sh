#!/usr/bin/env bash
# `examples/shell/counter.sh`: eight background jobs add 1 to a counter file,
# each with a read-modify-write (read, think, write) that loses updates when
# two jobs overlap. `turn run` makes them take turns, like flock(1) but fair
# and across hosts (the file could be on a shared disk). With --no-turn they
# run without turns and the counter comes out wrong.
#
# Needs `turn` on PATH (see docs/INSTALL.md) and a Redis in
# TURN_URL, TURN_REDIS_URL or REDIS_URL (default redis://localhost:6379/0).
set -euo pipefail

jobs=8
counter=$(mktemp)
trap 'rm -f "$counter"' EXIT
echo 0 >"$counter"

# The job itself: any command. $1 is the counter file.
add_one='n=$(cat "$1"); sleep 0.05; echo $((n + 1)) >"$1"'

pids=()
for i in $(seq "$jobs"); do
  if [ "${1:-}" = --no-turn ]; then
    sh -c "$add_one" sh "$counter" &
  else
    turn run --label "job $i" --timeout 1m counter-file -- sh -c "$add_one" sh "$counter" &
  fi
  pids+=("$!")
done
for pid in "${pids[@]}"; do
  wait "$pid" # stops the script (set -e) if a job or `turn run` failed
done

echo "counter: $(cat "$counter") (expected $jobs)"
[ "$(cat "$counter")" -eq "$jobs" ]
