#!/usr/bin/env bash
# GPT-2 small, whole commands: `circuitdsl loss | lens | attribute | paths --order 1 | inspect | patch` on a Hugging Face GPT-2 folder of
# GPT-2 small's shape (124M parameters, seeded random weights, a 498 MB model.safetensors written by
# tests/CircuitDsl.Tests/Fixtures/Gpt2/make_fixtures.py --gpt2-small; never committed), against PyTorch doing the same
# work (tests/benchmarks/gpt2_torch.py), each run as its own process under GNU time: wall seconds, CPU seconds (user +
# system: the measure that holds on a loaded machine) and peak resident memory, the latter also as a multiple of the
# weights file. Our side takes text (tokenized with the built-in GPT-2 tokenizer, whose loading it pays for); PyTorch
# gets the same token ids.
# Usage: tests/benchmarks/gpt2.sh [rounds=3] [rows=loss,lens,attribute,paths1,inspect,patch]
#        (CIRCUITDSL_GPT2_DIR, default /tmp/circuitdsl-gpt2; CIRCUITDSL_CLI=path/to/CircuitDsl.Cli.dll for another build)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROUNDS=${1:-3}
ONLY=${2:-loss,lens,attribute,paths1,inspect,patch}
DIR=${CIRCUITDSL_GPT2_DIR:-/tmp/circuitdsl-gpt2}
PY=/usr/bin/python3
# PyTorch's side runs its OpenMP threads passive, its best setting on this 2-core machine (as commands.sh does).
TORCH=(env OMP_WAIT_POLICY=PASSIVE $PY tests/benchmarks/gpt2_torch.py)
TEXT="When Mary and John went to the store, John gave a drink to"
IDS=50256,2215,5335,290,1757,1816,284,262,3650,11,1757,2921,257,4144,284
# patch: the IOI-style pair (the same 15 tokens but position 11, " John" → " Mary"), answer " Mary", wrong " John".
CORRUPTED="When Mary and John went to the store, Mary gave a drink to"
CORRUPTED_IDS=50256,2215,5335,290,1757,1816,284,262,3650,11,5335,2921,257,4144,284
MARY=5335
JOHN=1757

if [ -z "${CIRCUITDSL_CLI:-}" ]; then
  # The tool as README.md has a user make it: published, so compiled ahead of time (ReadyToRun) for this machine.
  dotnet publish -v q -nologo src/CircuitDsl.Cli -o out/circuitdsl >/dev/null
  CIRCUITDSL_CLI=out/circuitdsl/CircuitDsl.Cli.dll
fi
CLI=(dotnet "$CIRCUITDSL_CLI")
[ -f "$DIR/model.safetensors" ] || $PY tests/CircuitDsl.Tests/Fixtures/Gpt2/make_fixtures.py --gpt2-small "$DIR"
FILE_KB=$(( $(stat -c %s "$DIR/model.safetensors") / 1024 ))
OUT=$(mktemp)
echo "cores: $(nproc); load: $(cut -d' ' -f1-3 /proc/loadavg); $("${CLI[@]}" --version)" >&2

measure() { # side workload command...
  local side=$1 work=$2; shift 2
  [[ ",$ONLY," == *",$work,"* ]] || return 0
  /usr/bin/time -f "%e %U %S %M" -o "$OUT.t" "$@" > /dev/null
  echo "$work $side $(tail -1 "$OUT.t")" >> "$OUT"
}

for round in $(seq 1 "$ROUNDS"); do
  echo "round $round of $ROUNDS (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2
  measure ours loss "${CLI[@]}" loss "$DIR" --text "$TEXT"
  measure torch loss "${TORCH[@]}" loss "$DIR" "$IDS"
  measure ours lens "${CLI[@]}" lens "$DIR" --text "$TEXT"
  measure torch lens "${TORCH[@]}" lens "$DIR" "$IDS"
  measure ours attribute "${CLI[@]}" attribute "$DIR" --text "$TEXT" --answer " Mary" --wrong " John" --json
  measure torch attribute "${TORCH[@]}" attribute "$DIR" "$IDS"
  measure ours paths1 "${CLI[@]}" paths "$DIR" --text "$TEXT" --order 1
  measure torch paths1 "${TORCH[@]}" paths1 "$DIR" "$IDS"
  measure ours inspect "${CLI[@]}" inspect "$DIR" --json
  measure torch inspect "${TORCH[@]}" inspect "$DIR" "$IDS"
  measure ours patch "${CLI[@]}" patch "$DIR" --clean "$TEXT" --corrupted "$CORRUPTED" --answer " Mary" --wrong " John" --json
  measure torch patch "${TORCH[@]}" patch "$DIR" "$IDS" "$CORRUPTED_IDS" $MARY $JOHN
done
echo "end (load $(cut -d' ' -f1-3 /proc/loadavg))" >&2

$PY - "$OUT" "$FILE_KB" <<'PY'
import statistics, sys
rows, file_kb = {}, int(sys.argv[2])
for line in open(sys.argv[1]):
    work, side, seconds, user, system, kb = line.split()
    rows.setdefault(work, {}).setdefault(side, []).append((float(seconds), float(user) + float(system), int(kb)))
print(f"weights file: {file_kb / 1024:.0f} MiB")
print("| command | ours: wall / CPU (s, medians) | PyTorch: wall / CPU (s, medians) | wall ratio | CPU ratio | ours peak MiB | × file | PyTorch peak MiB | × file |")
print("|---|---|---|---|---|---|---|---|---|")
for work, sides in rows.items():
    o, t = sides["ours"], sides["torch"]
    ow, tw = statistics.median(s for s, _, _ in o), statistics.median(s for s, _, _ in t)
    oc, tc = statistics.median(c for _, c, _ in o), statistics.median(c for _, c, _ in t)
    om, tm = max(k for _, _, k in o), max(k for _, _, k in t)
    print(f"| {work} | {ow:.2f} / {oc:.2f} | {tw:.2f} / {tc:.2f} | {tw / ow:.2f} | {tc / oc:.2f} | {om / 1024:.0f} | {om / file_kb:.2f} | {tm / 1024:.0f} | {tm / file_kb:.2f} |")
PY
rm -f "$OUT" "$OUT.t"
