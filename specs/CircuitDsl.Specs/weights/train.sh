#!/usr/bin/env bash
# Retrains every model folder under specs/CircuitDsl.Specs/weights with the exact commands its model card
# ([TrainedOn] in specs/CircuitDsl.Specs/Models.cs) describes: each model on each of its seeds, into NAME/seed-S.
# Run from the repository root:
#   specs/CircuitDsl.Specs/weights/train.sh [name ...]      (default: all; names: bigram-0l skip-trigram-1l induction-2l)
# Training is deterministic for a given seed and worker count (2), on either matrix-multiply backend, so the folders
# come out bit for bit the same on the same build; see README.md for what was measured.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=specs/CircuitDsl.Specs/weights
seeds="0 1 2 3 4"
dotnet build src/CircuitDsl.Cli -c Release -v q
cli() { dotnet src/CircuitDsl.Cli/bin/Release/net10.0/CircuitDsl.Cli.dll "$@"; }

train() {
  for seed in $seeds; do
    case "$1" in
      bigram-0l)
        cli train --layers 0 --heads 1 --d-model 64 --vocab 64 --context 64 --normalization none \
          --task bigram --steps 1000 --seed "$seed" --out "$out/bigram-0l/seed-$seed" ;;
      skip-trigram-1l)
        cli train --layers 1 --heads 4 --d-model 64 --d-head 16 --vocab 64 --context 64 --normalization none \
          --task skip-trigram --steps 1500 --seed "$seed" --out "$out/skip-trigram-1l/seed-$seed" ;;
      induction-2l)
        cli train --layers 2 --heads 4 --d-model 64 --d-head 16 --vocab 64 --context 64 --normalization LN \
          --task repeated-tokens --steps 4000 --seed "$seed" --out "$out/induction-2l/seed-$seed" ;;
      *) echo "unknown model folder '$1' (known: bigram-0l skip-trigram-1l induction-2l)" >&2; exit 2 ;;
    esac
  done
}

if [ "$#" -eq 0 ]; then set -- bigram-0l skip-trigram-1l induction-2l; fi
for name in "$@"; do train "$name"; done
