#!/usr/bin/env python3
"""Resident memory of bend over long runs, at full size, through the CLI.

  scripts/memory-flat.py [BUILD_DIR] [--epochs 100] [--runs 60] [--quick]

1. `bend train` on all of MNIST (the docs' 784-256-128-10 MLP, the default recipe, a checkpoint every
   epoch and every 200 steps) for --epochs epochs: the process's VmRSS is read from /proc after every
   epoch (--json lines).
2. `bend compare` of --runs runs in one process (6 activations x runs/6 seeds, 1 epoch each on all of
   MNIST, --jobs 1): VmRSS after every run (the "[k/N] ... epoch 1" lines).

For each it prints RSS after #2, the peak, the last, and the growth from #2 to the end (the tests, at
small size, require <= 1%: tests/test_memory_flat.cpp). --quick: 10 epochs and 12 runs on 6000 images.
"""
import json
import os
import re
import subprocess
import sys
import tempfile


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def watch(command, is_mark):
    """Runs command; returns VmRSS (KiB) each time a line of its output satisfies is_mark."""
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    marks = []
    for line in proc.stdout:
        if is_mark(line):
            marks.append(rss_kib(proc.pid))
    if proc.wait() != 0:
        sys.exit(f"memory-flat: {' '.join(command)} exited with {proc.returncode}")
    return marks


def report(name, marks):
    second, last = marks[1], marks[-1]
    growth = 100.0 * (last - second) / second
    print(f"{name}: {len(marks)} samples; RSS after #2 {second / 1024:.1f} MiB, peak {max(marks) / 1024:.1f} MiB, "
          f"last {last / 1024:.1f} MiB: {growth:+.2f}% from #2 to the end")
    return growth


def main():
    args = sys.argv[1:]
    quick = "--quick" in args
    epochs = int(args[args.index("--epochs") + 1]) if "--epochs" in args else (10 if quick else 100)
    runs = int(args[args.index("--runs") + 1]) if "--runs" in args else (12 if quick else 60)
    positional = [a for i, a in enumerate(args) if not a.startswith("--") and (i == 0 or args[i - 1] not in ("--epochs", "--runs"))]
    build = positional[0] if positional else "build"
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    bend = os.path.join(os.path.abspath(build), "bend")
    data = os.path.join(root, "data", "mnist")
    limit = ["--train-limit", "6000", "--test-limit", "1000"] if quick else []
    with tempfile.TemporaryDirectory(prefix="bend-memory-") as work:
        train = watch([bend, "train", "--data-dir", data, "--epochs", str(epochs), "--json", "--threads", "1",
                       "--checkpoint-dir", os.path.join(work, "ck"), "--checkpoint-every", "200"] + limit,
                      lambda line: line.startswith('{"epoch"'))
        g1 = report(f"bend train, {epochs} epochs", train)
        seeds = max(1, runs // 6)
        compare = watch([bend, "compare", "--data-dir", data, "--acts", "relu,tanh,gelu,silu,sigmoid,elu",
                         "--seeds", str(seeds), "--epochs", "1", "--jobs", "1", "--threads", "1",
                         "--out", os.path.join(work, "compare")] + limit,
                        lambda line: re.match(r"\[\d+/\d+\] .* epoch 1:", line) is not None)
        g2 = report(f"bend compare, {6 * seeds} runs in one process", compare)
    print(f"memory-flat: CPU {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}, "
          f"OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '(unset)')}")
    return 0 if g1 <= 1.0 and g2 <= 1.0 else 1


if __name__ == "__main__":
    sys.exit(main())
