#!/usr/bin/env bash
# Stress: start `circuitdsl train` (checkpointing every step), SIGKILL it at a random moment, then check the
# model folder with `circuitdsl inspect`. A folder must either load or be empty (killed before the first
# checkpoint); anything else is a torn checkpoint. Usage: tests/fuzz/kill-train.sh [runs] [seed]
set -uo pipefail
cd "$(dirname "$0")/../.."
runs=${1:-20}
RANDOM=${2:-1}
dotnet build -c Release src/CircuitDsl.Cli -v quiet --nologo >/dev/null || exit 1
cli=(dotnet src/CircuitDsl.Cli/bin/Release/net10.0/CircuitDsl.Cli.dll)
work=$(mktemp -d)
loaded=0 empty=0 torn=0 tmpfiles=0
for i in $(seq 1 "$runs"); do
  out="$work/run$i"
  "${cli[@]}" train --layers 2 --heads 2 --d-model 32 --d-head 16 --vocab 16 --context 16 --task repeated-tokens \
    --steps 1000000 --checkpoint-every 1 --seed "$i" --out "$out" >/dev/null 2>&1 &
  pid=$!
  delay=$(( 300 + RANDOM % 2700 ))
  sleep "$(printf '%d.%03d' $((delay / 1000)) $((delay % 1000)))"
  kill -9 "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  leftovers=$(find "$out" -name '*.tmp' 2>/dev/null | wc -l)
  tmpfiles=$((tmpfiles + leftovers))
  if "${cli[@]}" inspect "$out" --json >/dev/null 2>"$work/err"; then
    loaded=$((loaded + 1)); what=loads
  elif [ -z "$(find "$out" -type f ! -name '*.tmp' 2>/dev/null)" ]; then
    empty=$((empty + 1)); what="empty (killed before the first checkpoint)"
  else
    torn=$((torn + 1)); what="TORN: $(cat "$work/err")"
  fi
  echo "run $i: killed after ${delay} ms; $leftovers .tmp left; $what"
done
rm -rf "$work"
echo "runs $runs: loads $loaded, empty $empty, torn $torn; leftover .tmp files $tmpfiles"
[ "$torn" -eq 0 ]
