#!/usr/bin/env bash
# Stress: `circuitdsl train --out` onto a 64 KB tmpfs (needs root for mount). Expect exit code 2, one line on
# standard error naming the problem ("No space left on device"), nothing on standard output, and no temporary
# file left on the full disk. Usage: sudo tests/fuzz/disk-full.sh
set -uo pipefail
cd "$(dirname "$0")/../.."
dotnet build -c Release src/CircuitDsl.Cli -v quiet --nologo >/dev/null || exit 1
cli=(dotnet src/CircuitDsl.Cli/bin/Release/net10.0/CircuitDsl.Cli.dll)
mnt=$(mktemp -d)
if ! mount -t tmpfs -o size=64k tmpfs "$mnt" 2>/dev/null; then
  echo "skipped: cannot mount a tmpfs here (needs root and mount privileges)"; rmdir "$mnt"; exit 0
fi
trap 'umount "$mnt"; rmdir "$mnt"' EXIT
"${cli[@]}" train --layers 2 --heads 4 --d-model 64 --d-head 16 --vocab 64 --context 32 --task repeated-tokens \
  --steps 10 --out "$mnt/model" >"$mnt.out" 2>"$mnt.err"
code=$?
echo "exit code $code"; echo "stdout: $(wc -c <"$mnt.out") bytes"; echo "stderr ($(wc -l <"$mnt.err") lines):"; cat "$mnt.err"
echo "left on the disk:"; find "$mnt" -type f -printf '  %p %s bytes\n'
ok=1
[ "$code" -eq 2 ] || ok=0
[ "$(wc -l <"$mnt.err")" -eq 1 ] || ok=0
[ ! -s "$mnt.out" ] || ok=0
grep -q 'No space left on device' "$mnt.err" || ok=0
[ -z "$(find "$mnt" -name '*.tmp')" ] || ok=0
rm -f "$mnt.out" "$mnt.err"
[ "$ok" -eq 1 ] && echo "PASS" || { echo "FAIL"; exit 1; }
