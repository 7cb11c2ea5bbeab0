"""Checkpoint cost (contract section 12): the W3 training step (MLP
784-512-512-10, batch 256, SGD; 669,706 f32 params, 2.7 MB per checkpoint)
as a built executable, 200 steps with `--checkpoint-every 1`, `10` and none,
rounds interleaved; prints the median wall time per step of each and the
overhead against none.

    python3 bench/ckpt/cost.py [--weft target/release/weft] [--rounds 5] [--steps 200]
"""
import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--weft", default=str(ROOT / "target/release/weft"))
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=200)
    a = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        rng = np.random.default_rng(0)
        np.save(tmp / "x.npy", rng.standard_normal((256, 784), dtype=np.float32))
        np.save(tmp / "y.npy", rng.integers(0, 10, 256).astype(np.int32))
        exe = tmp / "w3"
        subprocess.run([a.weft, "build", str(ROOT / "bench/workloads/w3_mlp_train.weft"), "-o", str(exe)],
                       check=True)
        base = [str(exe), "--steps", str(a.steps), "--threads", "2",
                "--input", f"x={tmp / 'x.npy'}", "--input", f"y={tmp / 'y.npy'}", "--out", str(tmp / "out")]
        configs = {"none": [], "every 10": ["--checkpoint-every", "10"], "every 1": ["--checkpoint-every", "1"]}
        times = {k: [] for k in configs}
        for r in range(a.rounds):
            for name, extra in configs.items():
                ck = tmp / f"ck-{r}-{name.replace(' ', '')}"
                cmd = base + (["--checkpoint", str(ck), "--keep", "2"] + extra if extra else [])
                t0 = time.perf_counter()
                subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
                times[name].append((time.perf_counter() - t0) / a.steps * 1e3)
        none = statistics.median(times["none"])
        print(f"| W3, {a.steps} steps, {a.rounds} rounds | ms per step (median) | overhead |")
        print("|---|---:|---:|")
        for name, ts in times.items():
            m = statistics.median(ts)
            print(f"| {name} | {m:.2f} | {100 * (m / none - 1):+.1f}% |")


if __name__ == "__main__":
    main()
