#!/usr/bin/env python3
"""A/B of two builds of weft on the W-suite's executables.

    python3 bench/ab/ab.py DIR_A DIR_B [--rounds 10] [--only w1_fused,w5_softmax]

DIR_A and DIR_B hold executables built from bench/workloads/*.weft by two
builds of weft (`weft build bench/workloads/w1_fused.weft -o DIR/w1_fused`,
...), e.g. before and after a change. Per workload and round, each
executable runs N steps and 1 step (whole processes, 2 threads); the time
per step is (T(N) - T(1)) / (N - 1), and the order of A and B alternates
between rounds, since the second of two back-to-back runs is favoured on a
shared machine. Prints the medians and B/A (> 1: B slower).
"""
import argparse, pathlib, statistics, subprocess, sys, tempfile, time

import numpy as np

WORKLOADS = {
    # name: (inputs {name: shape/dtype maker}, steps)
    "w1_fused": ({"x": lambda r: r.standard_normal(1 << 24).astype(np.float32)}, 150),
    "w3_mlp_train": (
        {
            "x": lambda r: r.standard_normal((256, 784)).astype(np.float32),
            "y": lambda r: r.integers(0, 10, 256).astype(np.int32),
        },
        400,
    ),
    "w4_mlp_infer": ({"x": lambda r: r.standard_normal((1, 64)).astype(np.float32)}, 200000),
    "w5_softmax": ({"x": lambda r: r.standard_normal((4096, 4096)).astype(np.float32)}, 80),
    "w5_layernorm": ({"x": lambda r: r.standard_normal((4096, 4096)).astype(np.float32)}, 80),
    "w8_conv": (
        {
            "x": lambda r: r.standard_normal((32, 16, 32, 32)).astype(np.float32),
            "gy": lambda r: r.standard_normal((32, 16, 32, 32)).astype(np.float32),
        },
        60,
    ),
}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--rounds", type=int, default=10)
    ap.add_argument("--only", default="")
    args = ap.parse_args()
    only = [w for w in args.only.split(",") if w]
    with tempfile.TemporaryDirectory() as d:
        d = pathlib.Path(d)
        rng = np.random.default_rng(0)
        for w, (inputs, steps) in WORKLOADS.items():
            if only and w not in only:
                continue
            flags = []
            for name, make in inputs.items():
                p = d / f"{w}_{name}.npy"
                np.save(p, make(rng))
                flags += ["--input", f"{name}={p}"]

            def run(exe, n):
                t0 = time.perf_counter()
                subprocess.run([str(exe)] + flags + ["--steps", str(n), "--threads", "2", "--out", str(d / "out")],
                               check=True, stdout=subprocess.DEVNULL)
                return time.perf_counter() - t0

            exes = [pathlib.Path(args.a) / w, pathlib.Path(args.b) / w]
            if not all(e.exists() for e in exes):
                print(f"{w}: missing executable, skipped", file=sys.stderr)
                continue
            times = {0: [], 1: []}
            for k in range(args.rounds):
                for i in ((0, 1) if k % 2 == 0 else (1, 0)):
                    times[i].append((run(exes[i], steps) - run(exes[i], 1)) / (steps - 1))
            ma, mb = statistics.median(times[0]), statistics.median(times[1])
            print(f"{w:14s} A {ma * 1e6:11.2f} us/step  B {mb * 1e6:11.2f} us/step  B/A {mb / ma:.3f}", flush=True)


if __name__ == "__main__":
    main()
