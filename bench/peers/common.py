"""Shared helpers for the peer scripts: thread settings, timing, output.

Each peer script is run as `python PEER.py WORKLOAD DATADIR` in a fresh
process by bench/bench.py and prints one `RESULT {json}` line per figure.
Times are medians over rounds taken after warm-up; each round times a batch
of calls and divides, so that short calls are not lost in timer overhead.
"""

import json
import os
import resource
import statistics
import sys
import time

THREADS = 2


def set_thread_env():
    """Called before any framework is imported."""
    for v in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[v] = str(THREADS)
    os.environ.setdefault(
        "XLA_FLAGS",
        f"--xla_cpu_multi_thread_eigen=true intra_op_parallelism_threads={THREADS}",
    )
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


set_thread_env()


def median_time(fn, target_s=0.5, rounds=7, warmup=2, max_batch=1 << 20):
    """Median seconds per call of fn()."""
    for _ in range(warmup):
        fn()
    t0 = time.perf_counter()
    fn()
    one = max(time.perf_counter() - t0, 1e-7)
    batch = int(min(max_batch, max(1, target_s / rounds / one)))
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(batch):
            fn()
        times.append((time.perf_counter() - t0) / batch)
    return statistics.median(times)


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def emit(workload, impl, seconds=None, **extra):
    rec = {"workload": workload, "impl": impl}
    if seconds is not None:
        rec["seconds"] = seconds
    rec.update(extra)
    print("RESULT " + json.dumps(rec), flush=True)


def load(datadir, name):
    import numpy as np

    return np.load(os.path.join(datadir, name + ".npy"))


def main(table):
    """table: workload name -> function(datadir)."""
    if len(sys.argv) != 3 or sys.argv[1] not in table:
        sys.exit(f"usage: {sys.argv[0]} {{{'|'.join(table)}}} DATADIR")
    table[sys.argv[1]](sys.argv[2])
