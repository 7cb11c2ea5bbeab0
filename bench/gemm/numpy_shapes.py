"""NumPy (OpenBLAS) on the GEMM shapes of runtime/native/examples/gemm_bench.rs.

    OPENBLAS_NUM_THREADS=2 bench/.venv/bin/python bench/gemm/numpy_shapes.py

Prints GFLOP/s, the best of 30 runs (the minimum time is the least disturbed
on a shared machine), into a preallocated output (`np.matmul(..., out=)`),
with transposed operands as NumPy views, as weft reads them.
"""
import time

import numpy as np

SHAPES = [
    ("w9 x@w1", 10000, 64, 256, False, False),
    ("w9 x.T@dh", 64, 10000, 256, True, False),
    ("w9 h@w2", 10000, 256, 10, False, False),
    ("w9 h.T@dl", 256, 10000, 10, True, False),
    ("w9 dl@w2.T", 10000, 10, 256, False, True),
    ("w3 x@w1", 256, 784, 512, False, False),
    ("w3 x.T@d1", 784, 256, 512, True, False),
    ("w3 d2@w2.T", 256, 512, 512, False, True),
    ("w2 1024^3", 1024, 1024, 1024, False, False),
]


def main():
    rng = np.random.default_rng(0)
    print(f"{'shape':<12} {'numpy':>8}")
    for name, m, k, n, ta, tb in SHAPES:
        a = rng.standard_normal((k, m) if ta else (m, k), dtype=np.float32)
        b = rng.standard_normal((n, k) if tb else (k, n), dtype=np.float32)
        a = a.T if ta else a
        b = b.T if tb else b
        c = np.empty((m, n), dtype=np.float32)
        np.matmul(a, b, out=c)
        best = min(timed(lambda: np.matmul(a, b, out=c)) for _ in range(30))
        print(f"{name:<12} {2 * m * k * n / best / 1e9:>8.1f}")


def timed(f):
    t = time.perf_counter()
    f()
    return time.perf_counter() - t


if __name__ == "__main__":
    main()
