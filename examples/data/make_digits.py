#!/usr/bin/env python3
"""Writes examples/data/digits/: scikit-learn's 8x8 handwritten digits as .npy.

    pip install numpy scikit-learn && python3 examples/data/make_digits.py

1797 images of 8x8 pixels (values 0..16) from the UCI ML hand-written digits
data set that scikit-learn ships (sklearn.datasets.load_digits). Pixels are
scaled to [0, 1] (divided by 16) as float32, flattened to 64 columns; labels
are int32 in 0..9. A fixed permutation (numpy seed 0) splits them into 1437
training rows and 360 test rows:

    train_x.npy f32[1437, 64]   train_y.npy i32[1437]
    test_x.npy  f32[360, 64]    test_y.npy  i32[360]
"""
import os

import numpy as np
from sklearn.datasets import load_digits

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits")
N_TEST = 360


def main():
    d = load_digits()
    x = (d.data / 16.0).astype(np.float32)
    y = d.target.astype(np.int32)
    perm = np.random.default_rng(0).permutation(len(y))
    test, train = perm[:N_TEST], perm[N_TEST:]
    os.makedirs(OUT, exist_ok=True)
    np.save(os.path.join(OUT, "train_x.npy"), x[train])
    np.save(os.path.join(OUT, "train_y.npy"), y[train])
    np.save(os.path.join(OUT, "test_x.npy"), x[test])
    np.save(os.path.join(OUT, "test_y.npy"), y[test])
    print(f"{len(train)} training and {len(test)} test rows written to {os.path.relpath(OUT)}")


if __name__ == "__main__":
    main()
