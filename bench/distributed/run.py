#!/usr/bin/env python3
"""Data-parallel scaling of weft's W3 training step on Open MPI, and the
all-reduce's bandwidth against the machine's memory bandwidth.

    python3 bench/distributed/run.py [--rounds 5] [--weft target/release/weft]

Writes bench/results/DISTRIBUTED.md (medians over the rounds). Needs NumPy,
a C compiler with OpenMP (the STREAM ceilings) and Open MPI's `mpirun`.

- W3-DP (`w3_dp.weft`): one SGD step of the MLP 784-512-512-10 with
  `batch(.., B)` and `all_mean` of the gradients, built with `weft build`,
  one thread per process (`--threads 1`). Strong scaling: P = 1 with B =
  256 against P = 2 with B = 128 (the same 256 rows per step, the same
  trajectory up to summation order); weak scaling: P = 2 with B = 256 each
  (512 rows per step). Time per step = (wall(S2 steps) - wall(S1 steps)) /
  (S2 - S1), which removes start-up, MPI's launch and output writing.
- All-reduce (`allreduce.weft`): one `all_sum` of M f32 values per step at
  P = 2; the duration of each collective call is read from rank 0's
  `--profile` trace (median over calls, the first dropped). GB/s counts the
  buffer once (4·M bytes per call: NCCL's "algorithm bandwidth"; at P = 2
  its "bus bandwidth" is the same figure).
- STREAM copy and triad from bench/ceilings/ceilings.c at 1 and 2 threads.
"""

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")


def log(msg):
    print(msg, file=sys.stderr, flush=True)


def run(cmd, env=ENV):
    t0 = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    t = time.perf_counter() - t0
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)}: exit {r.returncode}: {r.stderr[-600:]}")
    return t, r


def mpirun(p):
    return ["mpirun", "--oversubscribe", "-np", str(p)]


def build(weft, src, exe, sets=()):
    cmd = [weft, "build", src, "-o", exe]
    for s in sets:
        cmd += ["--set", s]
    run(cmd)


def machine():
    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    git = lambda *a: subprocess.run(["git", "-C", ROOT, *a], capture_output=True, text=True).stdout.strip()
    dirty = git("status", "--porcelain", "--untracked-files=no")
    mpi = subprocess.run(["mpirun", "--version"], capture_output=True, text=True).stdout.splitlines()
    return {
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "cpu": cpu,
        "cores": os.cpu_count(),
        "commit": git("rev-parse", "--short", "HEAD") + ("+dirty" if dirty else ""),
        "loadavg": [round(x, 2) for x in os.getloadavg()],
        "mpi": mpi[0] if mpi else "?",
    }


def step_time(exe, p, inputs, s1, s2, out):
    base = mpirun(p) + [exe] + inputs + ["--threads", "1", "--out", out]
    t1, _ = run(base + ["--steps", str(s1)])
    t2, _ = run(base + ["--steps", str(s2)])
    return (t2 - t1) / (s2 - s1)


def allreduce_seconds(exe, p, steps, trace, out):
    run(mpirun(p) + [exe, "--threads", "1", "--steps", str(steps), "--profile", trace, "--out", out])
    with open(trace) as f:
        ev = json.load(f)["traceEvents"]
    durs = [e["dur"] * 1e-6 for e in ev if e.get("args", {}).get("kind") == "all_reduce"]
    return statistics.median(durs[1:] if len(durs) > 1 else durs)


def kernel_split(exe, p, inputs, steps):
    """Rank 0's `--stats` table: ms per step in the all-reduce and in the
    other kernels."""
    _, r = run(mpirun(p) + [exe] + inputs + ["--threads", "1", "--steps", str(steps), "--stats"])
    ar = other = 0.0
    for line in r.stderr.splitlines():
        f = line.split()
        if len(f) >= 4 and f[0].isdigit():
            ms = float(f[3])
            if f[1] == "all_reduce":
                ar += ms
            else:
                other += ms
    return ar / steps, other / steps


def stream(tmp):
    exe = os.path.join(tmp, "ceilings")
    src = os.path.join(ROOT, "bench", "ceilings", "ceilings.c")
    r = subprocess.run(["cc", "-O3", "-march=native", "-fopenmp", "-o", exe, src], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"ceilings: cc failed: {r.stderr[:300]}")
        return {}
    res = {}
    for t in (1, 2):
        out = subprocess.run([exe], capture_output=True, text=True, env=dict(ENV, OMP_NUM_THREADS=str(t))).stdout
        for line in out.splitlines():
            k, v, *_ = line.split()
            if k.startswith("stream"):
                res[f"{k}_{t}t"] = float(v)
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--weft", default=os.path.join(ROOT, "target", "release", "weft"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    import numpy as np

    info = machine()
    tmp = tempfile.mkdtemp(prefix="weft-dist-bench-")
    rng = np.random.default_rng(0)
    n = 4096
    np.save(os.path.join(tmp, "x.npy"), rng.normal(size=(n, 784)).astype(np.float32))
    np.save(os.path.join(tmp, "y.npy"), rng.integers(0, 10, size=n).astype(np.int32))
    inputs = ["--input", f"x={tmp}/x.npy", "--input", f"y={tmp}/y.npy"]
    w3 = os.path.join(HERE, "w3_dp.weft")
    exes = {}
    for b in (128, 256):
        exes[b] = os.path.join(tmp, f"w3_b{b}")
        build(a.weft, w3, exes[b], [f"B={b}"])
    configs = [("P=1, B=256 (256 rows/step)", 1, 256, 256),
               ("P=2, B=128 (256 rows/step: strong scaling)", 2, 128, 256),
               ("P=2, B=256 (512 rows/step: weak scaling)", 2, 256, 512)]
    s1, s2 = 4, 44
    times = {c[0]: [] for c in configs}
    split = {c[0]: [] for c in configs}
    sizes = [262144, 4194304, 16777216]
    ar = {m: [] for m in sizes}
    ar_exes = {}
    for m in sizes:
        ar_exes[m] = os.path.join(tmp, f"ar_{m}")
        build(a.weft, os.path.join(HERE, "allreduce.weft"), ar_exes[m], [f"M={m}"])
    for r in range(a.rounds):
        log(f"round {r + 1}/{a.rounds}")
        for name, p, b, _ in configs:
            times[name].append(step_time(exes[b], p, inputs, s1, s2, os.path.join(tmp, "out")))
            split[name].append(kernel_split(exes[b], p, inputs, s2))
        for m in sizes:
            ar[m].append(allreduce_seconds(ar_exes[m], 2, 8, os.path.join(tmp, "trace.json"), os.path.join(tmp, "out")))
    ceil = stream(tmp)

    lines = [
        "# Distributed data-parallel runs (Open MPI)",
        "",
        f"{info['date']}, {info['cpu']}, {info['cores']} cores, commit {info['commit']}, "
        f"load average at start {info['loadavg']}, {info['mpi']}. "
        f"`python3 bench/distributed/run.py --rounds {a.rounds}`: medians over {a.rounds} rounds; "
        "processes started by `mpirun --oversubscribe -np P`, one thread each (`--threads 1`).",
        "",
        "## W3 training step, data-parallel (`bench/distributed/w3_dp.weft`)",
        "",
        "MLP 784-512-512-10, SGD, `batch(.., B)` per process, `all_mean` of the gradients "
        f"(669,706 f32 values and the loss: one all-reduce per step); time per step from {s2 - s1} extra steps.",
        "",
        "| configuration | ms/step | steps/s | rows/s | speed-up (rows/s) | rank 0's kernels: compute ms/step | all-reduce ms/step |",
        "|---|---|---|---|---|---|---|",
    ]
    base = None
    for name, p, b, rows in configs:
        t = statistics.median(times[name])
        rps = rows / t
        base = base or rps
        ar_ms = statistics.median(x[0] for x in split[name])
        other_ms = statistics.median(x[1] for x in split[name])
        lines.append(f"| {name} | {t * 1e3:.2f} | {1 / t:.1f} | {rps:.0f} | {rps / base:.2f}× | {other_ms:.2f} | {ar_ms:.2f} |")
    lines += [
        "",
        "The last two columns are rank 0's `--stats` (time inside kernels per step; at P = 1 the "
        "all-reduce is a copy). P processes need P free cores: on a machine shared with other "
        "work (see the load average above), the P = 2 rows measure that contention as much as "
        "the scaling — compare their compute column with P = 1's.",
    ]
    lines += [
        "",
        "## All-reduce bandwidth (`bench/distributed/allreduce.weft`, P = 2)",
        "",
        "One `MPI_Allreduce` (sum) of M f32 values per call; GB/s = 4·M bytes / time per call.",
        "",
        "| M (f32) | MiB | ms/call | GB/s |",
        "|---|---|---|---|",
    ]
    for m in sizes:
        t = statistics.median(ar[m])
        lines.append(f"| {m:,} | {4 * m / 2**20:.0f} | {t * 1e3:.2f} | {4 * m / t / 1e9:.2f} |")
    if ceil:
        lines += [
            "",
            "Memory bandwidth of this machine (bench/ceilings/ceilings.c, STREAM counting): "
            + ", ".join(f"{k} {v:.1f} GB/s" for k, v in sorted(ceil.items())) + ".",
        ]
    lines += [
        "",
        "Raw times (seconds) per round:",
        "",
        "```",
        json.dumps({"step": times, "kernels_ms_allreduce_other": split, "allreduce": {str(k): v for k, v in ar.items()}}, indent=1),
        "```",
        "",
    ]
    os.makedirs(a.out, exist_ok=True)
    path = os.path.join(a.out, "DISTRIBUTED.md")
    with open(path, "w") as f:
        f.write("\n".join(lines))
    print("\n".join(lines[:40]))
    log(f"wrote {path}")


if __name__ == "__main__":
    main()
