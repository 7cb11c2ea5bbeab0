"""A checkpoint of `weft run --checkpoint` read by pyarrow (contract section
12): one column per param, named by its path, each an
`arrow.fixed_shape_tensor` of the param's dtype and shape holding its value
after the last step, and the schema metadata weft.step and weft.program.
Needs pyarrow (.ci/run installs it into the test venv)."""

import subprocess
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.ipc as ipc

import weft

ROOT = Path(__file__).resolve().parents[2]


def test_checkpoint_read_by_pyarrow(tmp_path):
    rng = np.random.default_rng(3)
    np.save(tmp_path / "x.npy", rng.standard_normal((50, 4)).astype(np.float32))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, 50).astype(np.int32))
    ck, out = tmp_path / "ck", tmp_path / "out"
    subprocess.run(
        [weft.find_weft(), "run", str(ROOT / "tests/ckpt/train.weft"), "--steps", "12",
         "--input", "x=%s" % (tmp_path / "x.npy"), "--input", "y=%s" % (tmp_path / "y.npy"),
         "--checkpoint", str(ck), "--checkpoint-every", "5", "--keep", "2", "--out", str(out)],
        check=True,
    )
    assert sorted(p.name for p in ck.iterdir()) == ["ckpt-00000010.arrow", "ckpt-00000012.arrow"]
    table = ipc.open_file(ck / "ckpt-00000012.arrow").read_all()
    assert table.num_rows == 1
    meta = table.schema.metadata
    assert meta[b"weft.step"] == b"12"
    assert len(meta[b"weft.program"]) == 64
    want = {"w": ("float", [4, 3]), "b": ("float", [3]), "seen": ("int64", [])}
    assert table.column_names == list(want)
    for name, (value_type, shape) in want.items():
        t = table.schema.field(name).type
        assert isinstance(t, pa.FixedShapeTensorType), t
        assert str(t.value_type) == value_type
        assert list(t.shape) == shape
        got = table.column(name).chunk(0).storage.flatten().to_numpy(zero_copy_only=False)
        np.testing.assert_array_equal(got.reshape(shape), np.load(out / (name + ".npy")))
