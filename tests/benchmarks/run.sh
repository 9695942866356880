#!/usr/bin/env bash
# CircuitDsl against PyTorch on this machine, side by side: builds tests/CircuitDsl.Benchmarks (Release), makes the
# seeded weights once (CIRCUITDSL_BENCH_DIR, default /tmp/circuitdsl-bench: ~650 MB, never committed), then for
# each round runs our workloads and PyTorch's, each with OPENBLAS_CORETYPE unset and with Haswell (PyTorch also with its
# OpenMP threads passive), the SGEMM ceiling and the source generator on a 50-spec project (ours only: TransformerLens
# has no compile-time step);
# then the train-to-induction runs and peak-memory measurements once; and prints the table (tests/benchmarks/table.py).
# Usage: tests/benchmarks/run.sh [rounds=3] [repetitions per round=5]
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
REPS=${2:-5}
DIR=${CIRCUITDSL_BENCH_DIR:-/tmp/circuitdsl-bench}
PY=/usr/bin/python3
WORK=forward,forward-cache,detection,composition,copying,train-step

dotnet build -c Release -v q -nologo tests/CircuitDsl.Benchmarks >/dev/null
dotnet build -c Release -v q -nologo src/CircuitDsl.Cli >/dev/null
BENCH=(dotnet tests/CircuitDsl.Benchmarks/bin/Release/net10.0/CircuitDsl.Benchmarks.dll)
CLI=(dotnet src/CircuitDsl.Cli/bin/Release/net10.0/CircuitDsl.Cli.dll)
[ -f "$DIR/train-detection.bin" ] || "${BENCH[@]}" prepare "$DIR"

OUT="$DIR/results-$(date +%Y%m%d-%H%M%S)"
mkdir -p "$OUT"
load() { echo "$(date +%T) $1: $(cut -d' ' -f1-3 /proc/loadavg)" >> "$OUT/load.txt"; }
echo "cores: $(nproc); $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)" > "$OUT/load.txt"

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS" >&2
  load "round $round"
  # Alternate which side goes first, so a slow stretch of the machine does not always land on the same side.
  sides=(ours-default torch-default ours-haswell torch-haswell torch-passive)
  [ $((round % 2)) -eq 0 ] && sides=(torch-passive torch-haswell ours-haswell torch-default ours-default)
  for side in "${sides[@]}"; do
    case $side in
      ours-default) env -u OPENBLAS_CORETYPE "${BENCH[@]}" run "$DIR" "$REPS" "$WORK" >> "$OUT/ours-default.txt" ;;
      ours-haswell) OPENBLAS_CORETYPE=Haswell "${BENCH[@]}" run "$DIR" "$REPS" "$WORK" >> "$OUT/ours-haswell.txt" ;;
      torch-default) env -u OPENBLAS_CORETYPE $PY tests/benchmarks/bench_torch.py "$DIR" "$REPS" "$WORK,detection-full,copying-tl" >> "$OUT/torch-default.txt" ;;
      torch-haswell) OPENBLAS_CORETYPE=Haswell $PY tests/benchmarks/bench_torch.py "$DIR" "$REPS" "$WORK" >> "$OUT/torch-haswell.txt" ;;
      # PyTorch's OpenMP threads spin after each parallel region; on a 2-core VM they fight OpenBLAS's for the cores
      # (2026-12-04: copying 0.45 -> 0.38 s, a train step 40 -> 19 ms with them passive; detection and composition
      # slower), so this is a third side, not a replacement.
      torch-passive) env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE $PY tests/benchmarks/bench_torch.py "$DIR" "$REPS" "$WORK" >> "$OUT/torch-passive.txt" ;;
    esac
  done
  env -u OPENBLAS_CORETYPE "${BENCH[@]}" sgemm 3 >> "$OUT/sgemm-ours.txt"
  OPENBLAS_CORETYPE=Haswell "${BENCH[@]}" sgemm 3 >> "$OUT/sgemm-ours-haswell.txt"
  env -u OPENBLAS_CORETYPE $PY tests/benchmarks/bench_torch.py sgemm 3 >> "$OUT/sgemm-torch.txt"
  OPENBLAS_CORETYPE=Haswell $PY tests/benchmarks/bench_torch.py sgemm 3 >> "$OUT/sgemm-torch-haswell.txt"
  "${BENCH[@]}" generator "$REPS" >> "$OUT/generator.txt"
done

load "training to induction > 0.7"
env -u OPENBLAS_CORETYPE "${BENCH[@]}" run "$DIR" 3 train-to-0.7 | tee -a "$OUT/info.txt" | grep RESULT >> "$OUT/ours-default.txt" || true
env -u OPENBLAS_CORETYPE $PY tests/benchmarks/bench_torch.py "$DIR" 3 train-to-0.7 | tee -a "$OUT/info.txt" | grep RESULT >> "$OUT/torch-default.txt" || true
env -u OPENBLAS_CORETYPE OMP_WAIT_POLICY=PASSIVE $PY tests/benchmarks/bench_torch.py "$DIR" 3 train-to-0.7 | tee -a "$OUT/info.txt" | grep RESULT >> "$OUT/torch-passive.txt" || true
sed -i '/^RESULT/d' "$OUT/info.txt"

load "memory"
[ -f "$DIR/attn2l/model.pth" ] || $PY tests/benchmarks/bench_torch.py make-pth "$DIR/attn2l/model.safetensors" "$DIR/attn2l/model.pth"
# Each inspect run is a cold process (start-up, JIT, loading the file and the work): what a user waits for. Both sides
# with OPENBLAS_CORETYPE unset, the better setting on both sides in the tables.
measure() { { /usr/bin/time -f "%e %M" env -u OPENBLAS_CORETYPE "$@" >/dev/null; } 2>&1 | tail -1; }
median() { tr ' ' '\n' | sort -g | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}'; }
{
  for model in attn2l stack12; do
    size=$(stat -c %s "$DIR/$model/model.safetensors")
    declare -A wall=() peak=()
    for round in 1 2 3; do
      sides=(ours torch)
      [ $((round % 2)) -eq 0 ] && sides=(torch ours)
      for side in "${sides[@]}"; do
        if [ $side = ours ]; then r=$(measure "${CLI[@]}" inspect "$DIR/$model"); else r=$(measure $PY tests/benchmarks/bench_torch.py inspect "$DIR/$model"); fi
        wall[$side]+=" ${r% *}"
        peak[$side]+=" ${r#* }"
      done
    done
    for side in ours torch; do
      what="circuitdsl inspect"
      [ $side = torch ] && what="PyTorch doing inspect's work (bench_torch.py inspect)"
      kib=$(echo ${peak[$side]} | median)
      echo "$model: model.safetensors $((size / 1048576)) MiB; $what: peak RSS $((kib / 1024)) MiB ($(awk "BEGIN{printf \"%.2f\", $kib * 1024 / $size}")× the file; KiB:${peak[$side]}), wall $(echo ${wall[$side]} | median) s (s:${wall[$side]})"
    done
  done
  size=$(stat -c %s "$DIR/attn2l/model.safetensors")
  for how in load-safetensors load-pth; do
    file=$DIR/attn2l/model.safetensors
    [ $how = load-pth ] && file=$DIR/attn2l/model.pth
    peak=$( { /usr/bin/time -f %M $PY tests/benchmarks/bench_torch.py $how "$file" >/dev/null; } 2>&1 | tail -1)
    echo "attn2l: PyTorch $how (every value read once) peak RSS $((peak / 1024)) MiB ($(awk "BEGIN{printf \"%.2f\", $peak * 1024 / $size}")× the safetensors file)"
  done
  base=$( { /usr/bin/time -f %M "${CLI[@]}" --version >/dev/null; } 2>&1 | tail -1)
  echo "baseline: circuitdsl --version peak RSS $((base / 1024)) MiB"
} > "$OUT/memory.txt"
load "end"

$PY tests/benchmarks/table.py "$OUT" | tee "$OUT/table.md"
echo "raw results: $OUT" >&2
