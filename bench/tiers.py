#!/usr/bin/env python3
"""weft run against the built executable (the JIT issue's benchmark).

Measures, on this machine, with the release build of weft:

- a training run of the MLP example (`examples/mlp.weft`, 500 steps by
  default): wall time of `weft run` (default tiering, and `--jit always` /
  `--jit never` for reference) against the executable of `weft build`;
- a one-step program (the MLP example's forward pass,
  `bench/workloads/one_step.weft`): wall time of `weft run` against
  `weft build` followed by running the executable.

Every figure is the median wall time of whole processes (start-up, reading
inputs and writing outputs included), the commands interleaved round by
round so that drifting machine load hits them alike. Writes
bench/results/TIERS.md and tiers.json.

    python3 bench/tiers.py [--rounds 21] [--steps 500]

Needs only Python 3 and `cargo build --release` (it runs that first).
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEFT = os.path.join(ROOT, "target", "release", "weft")
EX = os.path.join(ROOT, "examples")
DATA = ["--input", f"x={EX}/data/blobs_x.npy", "--input", f"y={EX}/data/blobs_y.npy"]


def wall(cmd):
    t = time.perf_counter()
    r = subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({r.returncode}): {r.stderr.decode()[-500:]}")
    return dt


def medians(cmds, rounds):
    """Runs every command once per round, in turn; median seconds each."""
    times = {k: [] for k in cmds}
    for _ in range(rounds):
        for k, c in cmds.items():
            times[k].append(wall(c))
    return {k: statistics.median(v) for k, v in times.items()}, times


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rounds", type=int, default=21)
    ap.add_argument("--steps", type=int, default=500)
    a = ap.parse_args()
    subprocess.run(["cargo", "build", "--release", "--workspace", "-q"], cwd=ROOT, check=True)
    with tempfile.TemporaryDirectory() as tmp:
        mlp = os.path.join(tmp, "mlp")
        subprocess.run([WEFT, "build", f"{EX}/mlp.weft", "-o", mlp], check=True)
        out = os.path.join(tmp, "out")
        steps = ["--steps", str(a.steps), "--out", out]
        train, raw_train = medians(
            {
                "executable": [mlp, *DATA, *steps],
                "weft run": [WEFT, "run", f"{EX}/mlp.weft", *DATA, *steps],
                "weft run --jit always": [WEFT, "run", f"{EX}/mlp.weft", *DATA, *steps, "--jit", "always"],
                "weft run --jit never": [WEFT, "run", f"{EX}/mlp.weft", *DATA, *steps, "--jit", "never"],
            },
            a.rounds,
        )
        one = os.path.join(ROOT, "bench", "workloads", "one_step.weft")
        one_exe = os.path.join(tmp, "one")
        one_args = ["--input", f"x={EX}/data/blobs_x.npy", "--out", out]
        build_then_run = [
            "sh", "-c",
            f'"$0" build "$1" -o "$2" && "$2" "$3" "$4" "$5" "$6"',
            WEFT, one, one_exe, *one_args,
        ]
        oneshot, raw_one = medians(
            {
                "weft run": [WEFT, "run", one, *one_args],
                "weft build + executable": build_then_run,
            },
            a.rounds,
        )
    load = os.getloadavg()[0]
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT,
                            capture_output=True, text=True).stdout.strip()
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(l.split(":", 1)[1].strip() for l in f if l.startswith("model name"))
    except (OSError, StopIteration):
        pass
    ms = lambda s: f"{s * 1e3:.1f} ms"
    ex = train["executable"]
    lines = [
        "# weft run against the built executable",
        "",
        f"`python3 bench/tiers.py --rounds {a.rounds} --steps {a.steps}`, commit {commit}, "
        f"{cpu}, {os.cpu_count()} cores, load average {load:.2f} at the end; medians of "
        f"{a.rounds} interleaved rounds of whole-process wall time.",
        "",
        f"## Training: `examples/mlp.weft`, {a.steps} steps",
        "",
        "| command | median | / executable |",
        "|---|---|---|",
    ]
    for k, v in train.items():
        lines.append(f"| {k} | {ms(v)} | {v / ex:.2f}x |")
    lines += [
        "",
        "## One step: `bench/workloads/one_step.weft` (forward pass, 300 rows)",
        "",
        "| command | median |",
        "|---|---|",
    ]
    for k, v in oneshot.items():
        lines.append(f"| {k} | {ms(v)} |")
    text = "\n".join(lines) + "\n"
    print(text)
    res = os.path.join(ROOT, "bench", "results")
    os.makedirs(res, exist_ok=True)
    with open(os.path.join(res, "TIERS.md"), "w") as f:
        f.write(text)
    with open(os.path.join(res, "tiers.json"), "w") as f:
        json.dump({"commit": commit, "cpu": cpu, "load": load, "rounds": a.rounds,
                   "steps": a.steps, "train": raw_train, "one_step": raw_one}, f, indent=1)


if __name__ == "__main__":
    main()
