#!/usr/bin/env bash
# Whole commands, as a user meets them: each `circuitdsl` command a cold process (`dotnet
# out/circuitdsl/CircuitDsl.Cli.dll`, published as README.md says) beside a cold PyTorch script doing the same work
# (`bench_torch.py command …`, Debian's torch at /usr/bin/python3, two threads), on the attn-only-2l-shaped benchmark
# model that `CircuitDsl.Benchmarks prepare` writes. Wall time, CPU time (user + system) and peak resident set from
# /usr/bin/time, sides alternating round by round, each with OPENBLAS_CORETYPE unset and =Haswell; the load average
# before each round. Then tests/benchmarks/commands_table.py prints the medians and ratios.
# Usage: tests/benchmarks/commands.sh [rounds=3] [commands=loss,logits,inspect,paths,train,patch]
# CIRCUITDSL_CLI=path/to/CircuitDsl.Cli.dll measures another build of the tool (a before/after comparison).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
ONLY=${2:-loss,logits,inspect,paths,train,patch}
DIR=${CIRCUITDSL_BENCH_DIR:-/tmp/circuitdsl-bench}
PY=/usr/bin/python3
# PyTorch's OpenMP threads spin after each parallel region; on this shared 2-core machine (load 20-30 from other
# builds) that made a 20-step `train` take 92 s instead of 2.1 s, so its side always runs them passive (its best setting).
TORCH=(env OMP_WAIT_POLICY=PASSIVE $PY tests/benchmarks/bench_torch.py)

if [ -z "${CIRCUITDSL_CLI:-}" ]; then
  # The tool as README.md has a user make it: published, so compiled ahead of time (ReadyToRun) for this machine.
  dotnet publish -v q -nologo src/CircuitDsl.Cli -o out/circuitdsl >/dev/null
  CIRCUITDSL_CLI=out/circuitdsl/CircuitDsl.Cli.dll
fi
CLI=(dotnet "$CIRCUITDSL_CLI")
if [ ! -f "$DIR/attn2l/model.safetensors" ]; then
  dotnet build -c Release -v q -nologo tests/CircuitDsl.Benchmarks >/dev/null
  dotnet tests/CircuitDsl.Benchmarks/bin/Release/net10.0/CircuitDsl.Benchmarks.dll prepare "$DIR"
fi
MODEL=$DIR/attn2l
VOCAB=$($PY -c "import json; print(json.load(open('$MODEL/config.json'))['d_vocab'])")
# 4 × 1024 tokens from the benchmarks' LCG (paths, issue #16's shape: every term of order ≤ 2, 92 on this model, streamed).
[ -f "$DIR/tokens-4x1024.json" ] || "${TORCH[@]}" make-tokens "$DIR/tokens-4x1024.json" 4 1024 "$VOCAB" 7
# patch: a clean and a corrupted batch of 4 × 64 tokens differing at every position (two LCG seeds).
[ -f "$DIR/tokens-4x64.json" ] || "${TORCH[@]}" make-tokens "$DIR/tokens-4x64.json" 4 64 "$VOCAB" 7
[ -f "$DIR/tokens-4x64-corrupted.json" ] || "${TORCH[@]}" make-tokens "$DIR/tokens-4x64-corrupted.json" 4 64 "$VOCAB" 8
TRAINED=$(mktemp -d)
trap 'rm -rf "$TRAINED"' EXIT

# One line per command: name, our arguments, PyTorch's arguments (the same work; see bench_torch.py's command_*).
COMMANDS=(
  "loss|loss $MODEL --tokens $DIR/tokens-4x1024.json --json|command loss $MODEL $DIR/tokens-4x1024.json"
  "logits|logits $MODEL --tokens $DIR/tokens-4x1024.json|command logits $MODEL $DIR/tokens-4x1024.json"
  "inspect|inspect $MODEL|inspect $MODEL"
  "paths|paths $MODEL --tokens $DIR/tokens-4x1024.json --order 2|command paths $MODEL $DIR/tokens-4x1024.json 2"
  "train|train --task repeated-tokens --steps 300 --out $TRAINED/ours|command train $TRAINED/torch 300"
  "patch|patch $MODEL --clean-tokens $DIR/tokens-4x64.json --corrupted-tokens $DIR/tokens-4x64-corrupted.json --answer 11 --wrong 12 --json|command patch $MODEL $DIR/tokens-4x64.json $DIR/tokens-4x64-corrupted.json 11 12"
)

OUT="$DIR/commands-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
echo "cores: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2); weights $(stat -c %s "$MODEL/model.safetensors") bytes" > "$OUT/load.txt"
# One sample: "command setting side wall_s user_s sys_s peak_KiB", the command's output discarded (a failure stops the run).
sample() {
  local name=$1 setting=$2 side=$3; shift 3
  local how=(env -u OPENBLAS_CORETYPE)
  [ "$setting" = haswell ] && how=(env OPENBLAS_CORETYPE=Haswell)
  /usr/bin/time -o "$OUT/last-time" -f "%e %U %S %M" "${how[@]}" "$@" >/dev/null 2>"$OUT/last-stderr"
  echo "$name $setting $side $(tail -1 "$OUT/last-time")" >> "$OUT/samples.txt"
}
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  echo "$(date +%T) round $round: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/load.txt"
  for entry in "${COMMANDS[@]}"; do
    IFS='|' read -r name ours torch <<< "$entry"
    [[ ",$ONLY," == *",$name,"* ]] || continue
    for setting in unset haswell; do
      # Alternate which side goes first, round by round and setting by setting.
      sides=(ours torch)
      offset=0
      [ $setting = haswell ] && offset=1
      [ $(( (round + offset) % 2 )) -eq 0 ] && sides=(torch ours)
      for side in "${sides[@]}"; do
        # shellcheck disable=SC2086
        if [ $side = ours ]; then sample "$name" $setting ours "${CLI[@]}" $ours; else sample "$name" $setting torch "${TORCH[@]}" $torch; fi
      done
    done
  done
done
echo "$(date +%T) end: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/load.txt"
# The runtime alone: what any command pays before its own work.
for i in 1 2 3; do sample version unset ours "${CLI[@]}" --version; sample version unset torch $PY -c 'import torch'; done
$PY tests/benchmarks/commands_table.py "$OUT" | tee "$OUT/table.md"
echo "raw results: $OUT" >&2
