#!/usr/bin/env bash
# Retrains every model folder under specs/CircuitDsl.Specs/weights with the exact commands its model card
# ([TrainedOn] in specs/CircuitDsl.Specs/Models.cs) describes: the paper's three models on each of their seeds, into
# NAME/seed-S; the no-LayerNorm induction parent on its one seed; the composite, composed (no training) from the parents.
# Run from the repository root:
#   specs/CircuitDsl.Specs/weights/train.sh [name ...]      (default: all; names: bigram-0l skip-trigram-1l induction-2l
#                                                           induction-2l-noln bigram-plus-induction)
# Training is deterministic for a given seed and worker count (2), on either matrix-multiply backend, so the folders
# come out bit for bit the same on the same build; see README.md for what was measured.
set -euo pipefail
cd "$(dirname "$0")/../../.."
out=specs/CircuitDsl.Specs/weights
seeds="0 1 2 3 4"
dotnet build src/CircuitDsl.Cli -c Release -v q
cli() { dotnet src/CircuitDsl.Cli/bin/Release/net10.0/CircuitDsl.Cli.dll "$@"; }

train() {
  case "$1" in
    bigram-0l)
      for seed in $seeds; do
        cli train --layers 0 --heads 1 --d-model 64 --vocab 64 --context 64 --normalization none \
          --task bigram --steps 1000 --seed "$seed" --out "$out/bigram-0l/seed-$seed"
      done ;;
    skip-trigram-1l)
      for seed in $seeds; do
        cli train --layers 1 --heads 4 --d-model 64 --d-head 16 --vocab 64 --context 64 --normalization none \
          --task skip-trigram --steps 1500 --seed "$seed" --out "$out/skip-trigram-1l/seed-$seed"
      done ;;
    induction-2l)
      for seed in $seeds; do
        cli train --layers 2 --heads 4 --d-model 64 --d-head 16 --vocab 64 --context 64 --normalization LN \
          --task repeated-tokens --steps 4000 --seed "$seed" --out "$out/induction-2l/seed-$seed"
      done ;;
    induction-2l-noln)
      cli train --layers 2 --heads 4 --d-model 64 --d-head 16 --vocab 64 --context 64 --normalization none \
        --task repeated-tokens --steps 4000 --seed 0 --out "$out/induction-2l-noln" ;;
    bigram-plus-induction)
      # No training: the direct sum of the two parents (docs/mix-and-match.md; the bigram parent's seed 0), its two
      # mixing weights fitted on 64 markov-repeats sequences (data seed 1; the held-out checks use other seeds).
      fit=$(mktemp --suffix=.json)
      cli sample --task markov-repeats --seed 0 --data-seed 1 --count 64 --length 64 --out "$fit"
      cli compose --part "$out/bigram-0l/seed-0" --part "$out/induction-2l-noln" --fit-tokens "$fit" --out "$out/bigram-plus-induction"
      rm -f "$fit" ;;
    *) echo "unknown model folder '$1' (known: bigram-0l skip-trigram-1l induction-2l induction-2l-noln bigram-plus-induction)" >&2; exit 2 ;;
  esac
}

if [ "$#" -eq 0 ]; then set -- bigram-0l skip-trigram-1l induction-2l induction-2l-noln bigram-plus-induction; fi
for name in "$@"; do train "$name"; done
