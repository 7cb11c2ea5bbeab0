#!/usr/bin/env python3
"""Writes the small synthetic datasets the examples run on (needs numpy).

    python3 examples/data/make_data.py

blobs_x.npy f32[300, 4], blobs_y.npy i32[300]: three Gaussian classes in 4-D.
reg_X.npy f32[200, 3], reg_y.npy f32[200]: y = X @ [1.5, -2, 0.5] + 0.3 + noise(0.01);
the least-squares solution is in reg_solution.txt.
"""
import os
import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)

centers = np.array([[2.0, 0.0, 0.0, 1.0], [-1.0, 2.0, 0.0, -1.0], [-1.0, -2.0, 1.0, 0.0]])
y = np.repeat(np.arange(3), 100)
x = centers[y] + rng.standard_normal((300, 4)) * 0.6
perm = rng.permutation(300)
np.save(os.path.join(HERE, "blobs_x.npy"), x[perm].astype(np.float32))
np.save(os.path.join(HERE, "blobs_y.npy"), y[perm].astype(np.int32))

X = rng.standard_normal((200, 3)).astype(np.float32)
t = X.astype(np.float64) @ np.array([1.5, -2.0, 0.5]) + 0.3 + rng.standard_normal(200) * 0.01
np.save(os.path.join(HERE, "reg_X.npy"), X)
np.save(os.path.join(HERE, "reg_y.npy"), t.astype(np.float32))
A = np.hstack([X.astype(np.float64), np.ones((200, 1))])
sol, *_ = np.linalg.lstsq(A, t.astype(np.float32).astype(np.float64), rcond=None)
with open(os.path.join(HERE, "reg_solution.txt"), "w") as f:
    f.write("least-squares solution (w0, w1, w2, b): " + " ".join(f"{v:.6f}" for v in sol) + "\n")
print("wrote blobs_x/y.npy, reg_X/y.npy, reg_solution.txt")
