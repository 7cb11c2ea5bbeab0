#!/usr/bin/env python3
"""How weft's compile time grows with the number of params (issue 13: the
front end was super-linear: 10,000 params took 1.8 s to check).

Each program has N params `p_i: f32[4]`, each updated from an input; the
table gives the median wall time of `weft check` and of `weft run --steps 3`
(default engine and `--jit never`) over ROUNDS runs, release build.

    python3 bench/frontend_scale.py [--rounds 5]
"""
import argparse, os, statistics, subprocess, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WEFT = os.path.join(ROOT, "target", "release", "weft")


def program(n):
    lines = ["input x: f32[4]"]
    for i in range(n):
        lines += [f"param p{i}: f32[4] = zeros()", f"update p{i} = p{i} + x"]
    lines.append("output s = p0")
    return "\n".join(lines) + "\n"


def median_time(cmd, rounds):
    ts = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
        ts.append(time.perf_counter() - t0)
    return statistics.median(ts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    d = tempfile.mkdtemp()
    x = os.path.join(d, "x.npy")
    with open(x, "wb") as f:  # a tiny .npy: f32[4] of ones, written without numpy
        hdr = "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }"
        hdr += " " * (63 - (10 + len(hdr)) % 64) + "\n"
        f.write(b"\x93NUMPY\x01\x00" + len(hdr).to_bytes(2, "little") + hdr.encode())
        f.write(b"\x00\x00\x80\x3f" * 4)
    print("| params | check (s) | run --steps 3 (s) | run --steps 3 --jit never (s) |")
    print("|---|---|---|---|")
    for n in (2500, 5000, 10000, 20000):
        p = os.path.join(d, f"p{n}.weft")
        with open(p, "w") as f:
            f.write(program(n))
        run = [WEFT, "run", p, "--input", f"x={x}", "--steps", "3"]
        print(f"| {n} | {median_time([WEFT, 'check', p], a.rounds):.2f} | "
              f"{median_time(run, a.rounds):.2f} | {median_time(run + ['--jit', 'never'], a.rounds):.2f} |")


if __name__ == "__main__":
    main()
