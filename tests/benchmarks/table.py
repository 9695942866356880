"""Pools the RESULT lines of tests/benchmarks/run.sh and prints the table of ratios (Markdown).

Each input file is one side under one setting (ours and torch, each with OPENBLAS_CORETYPE unset and with Haswell;
torch also with its OpenMP threads passive); the samples of every round are pooled, and a ratio is PyTorch's median
over ours (above 1: we are faster), each side at the best of its settings, workload by workload. Usage:
    /usr/bin/python3 tests/benchmarks/table.py <results dir>
"""
import os
import statistics
import sys


def load(path):
    out = {}
    if not os.path.exists(path):
        return out
    for line in open(path):
        f = line.rstrip("\n").split("\t")
        if f[0] != "RESULT":
            continue
        name, gflop, samples = f[1], float(f[8]), [float(x) for x in f[9].split(",")]
        entry = out.setdefault(name, {"gflop": gflop, "samples": []})
        entry["samples"] += samples
    return out


def q(xs, p):
    xs = sorted(xs)
    pos = p * (len(xs) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (pos - lo) * (xs[hi] - xs[lo])


def fmt(t):
    return f"{t * 1000:.1f} ms" if t < 1 else f"{t:.2f} s"


def spread(xs):
    return f"{fmt(q(xs, .5))} ({fmt(q(xs, .25))}–{fmt(q(xs, .75))}, n={len(xs)})"


def better(sides, name):
    """The side's setting with the lower median for this workload: (entry, "setting; other: median"), or None."""
    candidates = [(statistics.median(t[name]["samples"]), k, t[name]) for k, t in sides.items() if name in t]
    if not candidates:
        return None
    _, setting, entry = min(candidates, key=lambda c: c[0])
    other = ", ".join(f"{k}: {fmt(m)}" for m, k, _ in candidates if k != setting)
    return entry, f"{setting}; {other}" if other else setting


def main(d):
    ours_by = {"unset": load(f"{d}/ours-default.txt"), "Haswell": load(f"{d}/ours-haswell.txt")}
    torch = {"unset": load(f"{d}/torch-default.txt"), "Haswell": load(f"{d}/torch-haswell.txt"),
             "unset, OMP_WAIT_POLICY=PASSIVE": load(f"{d}/torch-passive.txt")}
    ours = {}
    print("| workload | ours: median (IQR, n) [OPENBLAS_CORETYPE] | PyTorch: median (IQR, n) [its best setting] | ratio (PyTorch / ours) | ours GFLOP/s | PyTorch GFLOP/s |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in ("forward", "forward-cache", "detection", "composition", "copying", "train-step", "train-to-0.7"):
        o, t = better(ours_by, name), better(torch, name)
        if o is None or t is None:
            continue
        (o, osetting), (t, tsetting) = o, t
        ours[name] = o
        om, tm = q(o["samples"], .5), q(t["samples"], .5)
        gf = lambda e, m: f"{e['gflop'] / m:.0f}" if e["gflop"] else "–"
        print(f"| {name} | {spread(o['samples'])} [{osetting}] | {spread(t['samples'])} [{tsetting}] | {tm / om:.2f}× | {gf(o, om)} | {gf(t, tm)} |")
    if "detection-full" in torch["unset"] and "detection" in ours:
        full = min((statistics.median(t["detection-full"]["samples"]), k) for k, t in torch.items() if "detection-full" in t)
        print(f"\nPyTorch detection running the whole model (TransformerLens's detect_head, no stop_at_layer): {fmt(full[0])} [{full[1]}]; "
              f"ratio to ours {full[0] / q(ours['detection']['samples'], .5):.2f}×.")

    if "copying-tl" in torch["unset"] and "copying" in ours:
        tl = min((statistics.median(t["copying-tl"]["samples"]), k) for k, t in torch.items() if "copying-tl" in t)
        print(f"\nPyTorch copying by TransformerLens's own route (FactoredMatrix factors per head, eig of B·A): {fmt(tl[0])} [{tl[1]}]; "
              f"ratio to ours {tl[0] / q(ours['copying']['samples'], .5):.2f}×.")

    print("\n| SGEMM | median (IQR, n) | GFLOP/s |")
    print("| --- | --- | --- |")
    best = 0.0
    sgemm = {}
    for label, path in (("ours", "sgemm-ours.txt"), ("ours, Haswell", "sgemm-ours-haswell.txt"),
                        ("torch", "sgemm-torch.txt"), ("torch, Haswell", "sgemm-torch-haswell.txt")):
        for name, e in load(f"{d}/{path}").items():
            if label.endswith("Haswell") and name.endswith("managed"):
                continue
            m = q(e["samples"], .5)
            rate = e["gflop"] / m
            sgemm[(label, name)] = rate
            best = max(best, rate)
            print(f"| {name} ({label}) | {spread(e['samples'])} | {rate:.0f} |")
    if "forward" in ours and best:
        rate = ours["forward"]["gflop"] / q(ours["forward"]["samples"], .5)
        print(f"\nForward pass: {rate:.0f} GFLOP/s of the matrix work it does = {100 * rate / best:.0f}% of the best SGEMM median above ({best:.0f} GFLOP/s).")
    generator(d)
    for label, path in (("load", "load.txt"), ("memory", "memory.txt"), ("steps", "info.txt")):
        if os.path.exists(f"{d}/{path}"):
            print(f"\n{label}:\n```\n{open(f'{d}/{path}').read().rstrip()}\n```")


GENERATOR = (
    ("generator-cold", "cold run: a fresh driver on a fresh compilation"),
    ("generator-cold-in-generator", "… of which the driver's timing info gives the generator"),
    ("generator-cold-bound", "cold run once the project's declarations are bound: the generator's own work"),
    ("generator-edit", "re-run after one threshold edit (driver that already ran)"),
    ("generator-unrelated-edit", "re-run after an edit in a file with no spec"),
    ("generator-compile", "compiling the project with the generated files (Emit)"),
)


def generator(d):
    """The source generator's table (tests/CircuitDsl.Benchmarks `generator`): ours alone, no ratio."""
    path = f"{d}/generator.txt"
    gen = load(path)
    if not gen:
        return
    print("\n| generator, 50 specs (no PyTorch counterpart) | median (IQR, n) |")
    print("| --- | --- |")
    for name, what in GENERATOR:
        if name in gen:
            print(f"| {what} | {spread(gen[name]['samples'])} |")
    m = {name: q(e["samples"], .5) for name, e in gen.items()}
    if all(n in m for n, _ in GENERATOR):
        cold = m["generator-cold"]
        print(f"\nThe generator is {100 * cold / (cold + m['generator-compile']):.0f}% of a cold build (its run over its run plus the "
              f"compile); its own work is {100 * m['generator-cold-bound'] / cold:.0f}% of its cold run, the rest binding the "
              f"project's declarations; a threshold edit costs {100 * m['generator-edit'] / cold:.0f}% of a cold run, an edit "
              f"outside the specs {100 * m['generator-unrelated-edit'] / cold:.0f}%.")
    info = dict.fromkeys(line.rstrip("\n") for line in open(path) if line.startswith("INFO"))
    if info:
        print("\n```\n" + "\n".join(info) + "\n```")


main(sys.argv[1])
