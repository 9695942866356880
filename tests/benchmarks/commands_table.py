"""Prints the whole-command table of tests/benchmarks/commands.sh from its samples.txt: per command, each side's
median wall time, CPU time (user + system) and peak resident set over the rounds, for OPENBLAS_CORETYPE unset and
=Haswell, and the ratios PyTorch / ours of the medians (same run). Usage: commands_table.py <results dir>"""
import statistics
import sys
from collections import defaultdict

out = sys.argv[1]
with open(f"{out}/load.txt") as f:
    header = f.readline()
weights = int(header.rsplit("weights ", 1)[1].split()[0])
samples = defaultdict(list)
order = []
with open(f"{out}/samples.txt") as f:
    for line in f:
        name, setting, side, wall, user, system, peak = line.split()
        if name not in order:
            order.append(name)
        samples[name, setting, side].append((float(wall), float(user) + float(system), int(peak) * 1024))


def median(rows, i):
    return statistics.median(r[i] for r in rows)


def mib(b):
    return f"{b / 1048576:.0f} MiB"


print(f"weights file: {weights / 1048576:.1f} MiB; {header.strip()}")
print()
print("| command | OPENBLAS_CORETYPE | ours: wall / CPU / peak RSS (n) | PyTorch: wall / CPU / peak RSS (n) | wall ratio | CPU ratio | peak ours / PyTorch (× weights) |")
print("| --- | --- | --- | --- | --- | --- | --- |")
for name in order:
    for setting in ("unset", "haswell"):
        ours, torch = samples.get((name, setting, "ours")), samples.get((name, setting, "torch"))
        if not ours or not torch:
            continue
        ow, oc, op = (median(ours, i) for i in range(3))
        tw, tc, tp = (median(torch, i) for i in range(3))
        print(f"| {name} | {setting} | {ow:.2f} s / {oc:.2f} s / {mib(op)} ({len(ours)}) | {tw:.2f} s / {tc:.2f} s / {mib(tp)} ({len(torch)}) "
              f"| **{tw / ow:.2f}×** | {tc / oc:.2f}× | {mib(op)} ({op / weights:.2f}×) / {mib(tp)} ({tp / weights:.2f}×) |")
print()
print("every sample (wall s, CPU s, peak MiB):")
for key in sorted(samples):
    print(" ", *key, "; ".join(f"{w:.2f} {c:.2f} {p / 1048576:.0f}" for w, c, p in samples[key]))
