#!/usr/bin/env bash
# GPT-2 small, whole commands: `circuitdsl loss | lens | paths --order 1 | inspect` on a Hugging Face GPT-2 folder of
# GPT-2 small's shape (124M parameters, seeded random weights, a 498 MB model.safetensors written by
# tests/CircuitDsl.Tests/Fixtures/Gpt2/make_fixtures.py --gpt2-small; never committed), against PyTorch doing the same
# work (tests/benchmarks/gpt2_torch.py), each run as its own process under GNU time: wall seconds and peak resident
# memory, the latter also as a multiple of the weights file. Our side takes text (tokenized with the built-in GPT-2
# tokenizer, whose loading it pays for); PyTorch gets the same token ids.
# Usage: tests/benchmarks/gpt2.sh [rounds=3]      (CIRCUITDSL_GPT2_DIR, default /tmp/circuitdsl-gpt2)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
DIR=${CIRCUITDSL_GPT2_DIR:-/tmp/circuitdsl-gpt2}
PY=/usr/bin/python3
TEXT="When Mary and John went to the store, John gave a drink to"
IDS=50256,2215,5335,290,1757,1816,284,262,3650,11,1757,2921,257,4144,284

dotnet build -c Release -v q -nologo src/CircuitDsl.Cli >/dev/null
CLI=(dotnet src/CircuitDsl.Cli/bin/Release/net10.0/CircuitDsl.Cli.dll)
[ -f "$DIR/model.safetensors" ] || $PY tests/CircuitDsl.Tests/Fixtures/Gpt2/make_fixtures.py --gpt2-small "$DIR"
FILE_KB=$(( $(stat -c %s "$DIR/model.safetensors") / 1024 ))
OUT=$(mktemp)
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); $("${CLI[@]}" --version)" >&2

measure() { # side workload command...
  local side=$1 work=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$OUT.t" "$@" > /dev/null
  echo "$work $side $(cat "$OUT.t")" >> "$OUT"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS (load $(cut -d' ' -f1 /proc/loadavg))" >&2
  measure ours loss "${CLI[@]}" loss "$DIR" --text "$TEXT"
  measure torch loss $PY tests/benchmarks/gpt2_torch.py loss "$DIR" "$IDS"
  measure ours lens "${CLI[@]}" lens "$DIR" --text "$TEXT"
  measure torch lens $PY tests/benchmarks/gpt2_torch.py lens "$DIR" "$IDS"
  measure ours paths1 "${CLI[@]}" paths "$DIR" --text "$TEXT" --order 1
  measure torch paths1 $PY tests/benchmarks/gpt2_torch.py paths1 "$DIR" "$IDS"
  measure ours inspect "${CLI[@]}" inspect "$DIR" --json
  measure torch inspect $PY tests/benchmarks/gpt2_torch.py inspect "$DIR" "$IDS"
done

$PY - "$OUT" "$FILE_KB" <<'PY'
import statistics, sys
rows, file_kb = {}, int(sys.argv[2])
for line in open(sys.argv[1]):
    work, side, seconds, kb = line.split()
    rows.setdefault(work, {}).setdefault(side, []).append((float(seconds), int(kb)))
print(f"weights file: {file_kb / 1024:.0f} MiB")
print("| command | ours (s, median) | PyTorch (s, median) | PyTorch / ours | ours peak MiB | × file | PyTorch peak MiB | × file |")
print("|---|---|---|---|---|---|---|---|")
for work, sides in rows.items():
    o, t = sides["ours"], sides["torch"]
    os_, ts = statistics.median(s for s, _ in o), statistics.median(s for s, _ in t)
    om, tm = max(k for _, k in o), max(k for _, k in t)
    print(f"| {work} | {os_:.2f} | {ts:.2f} | {ts / os_:.2f} | {om / 1024:.0f} | {om / file_kb:.2f} | {tm / 1024:.0f} | {tm / file_kb:.2f} |")
PY
rm -f "$OUT" "$OUT.t"
