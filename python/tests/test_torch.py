"""Tests of weft.torch (need PyTorch; not run by CI). From the checkout:

    python -m pytest python/tests/test_torch.py

with torch, numpy and pytest installed, and `weft` built (see test_weft.py).
"""

from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import weft  # noqa: E402
import weft.torch  # noqa: E402

PROGRAMS = Path(__file__).resolve().parent / "programs"


@pytest.fixture(scope="module")
def libs(tmp_path_factory):
    root = tmp_path_factory.mktemp("weftlibs")
    cache = {}

    def get(name):
        if name not in cache:
            m = weft.build(PROGRAMS / (name + ".weft"), out_dir=root / name)
            cache[name] = m.path
            m.close()
        return cache[name]

    return get


@pytest.fixture
def load(libs):
    models = []

    def get(name):
        m = weft.load(libs(name))
        models.append(m)
        return m

    yield get
    for m in models:
        m.close()


def test_lazy_attribute():
    import importlib

    assert importlib.import_module("weft").torch is weft.torch


def test_forward_matches_and_returns_tuple(load):
    m = load("layer")
    f = weft.torch.function(m)
    x = torch.randn(5, 4, dtype=torch.float64)
    out = f(x=x)
    assert isinstance(out, tuple) and len(out) == 1
    (y,) = out
    w = torch.from_numpy(m.get_param("w"))
    b = torch.from_numpy(m.get_param("b"))
    assert y.dtype == torch.float64 and y.shape == (5, 3)
    torch.testing.assert_close(y, torch.tanh(x @ w + b), rtol=1e-12, atol=1e-14)
    # Params given as arguments are used for that call only.
    w2 = torch.randn(4, 3, dtype=torch.float64)
    (y2,) = f(x=x, w=w2)
    torch.testing.assert_close(y2, torch.tanh(x @ w2 + b), rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(m.get_param("w"), w.numpy())


def test_gradcheck_f64(load):
    m = load("layer")
    f = weft.torch.function(m)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64, generator=g, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w, b: f(x=x, w=w, b=b), (x, w, b))
    # With the params omitted: the model's own values, gradients for x only.
    assert torch.autograd.gradcheck(lambda x: f(x=x), (x,))


def test_gradcheck_two_outputs(load):
    m = load("tanh_fd")  # y = tanh(x @ w), s = sum(y * y)
    f = weft.torch.function(m)
    g = torch.Generator().manual_seed(1)
    x = torch.randn(3, 4, dtype=torch.float64, generator=g, requires_grad=True)
    w = torch.randn(4, 2, dtype=torch.float64, generator=g, requires_grad=True)
    assert torch.autograd.gradcheck(lambda x, w: f(x=x, w=w), (x, w))


def test_backward_matches_torch(load):
    m = load("layer")
    f = weft.torch.function(m)
    x = torch.randn(6, 4, dtype=torch.float64, requires_grad=True)
    w = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    b = torch.randn(3, dtype=torch.float64, requires_grad=True)
    (y,) = f(x=x, w=w, b=b)
    (y**2).sum().backward()
    xr, wr, br = (t.detach().clone().requires_grad_() for t in (x, w, b))
    (torch.tanh(xr @ wr + br) ** 2).sum().backward()
    for a, r in ((x, xr), (w, wr), (b, br)):
        torch.testing.assert_close(a.grad, r.grad, rtol=1e-12, atol=1e-14)


def test_backward_uses_the_params_of_the_forward(load):
    m = load("layer")
    f = weft.torch.function(m)
    x = torch.randn(2, 4, dtype=torch.float64, requires_grad=True)
    w0 = torch.from_numpy(m.get_param("w"))
    (y,) = f(x=x)  # w, b: the model's values now
    other = np.full((4, 3), 3.0)
    m.set_param("w", other)  # changed between forward and backward
    y.sum().backward()
    b = torch.from_numpy(m.get_param("b"))
    want = ((1 - torch.tanh(x.detach() @ w0 + b) ** 2) @ w0.T)
    torch.testing.assert_close(x.grad, want, rtol=1e-12, atol=1e-14)
    np.testing.assert_array_equal(m.get_param("w"), other)  # and left as set


def test_program_with_updates_does_not_advance(load):
    m = load("linreg")  # loss of x @ w + b, with updates of w and b
    f = weft.torch.function(m)
    g = np.random.default_rng(0)
    x = torch.from_numpy(g.standard_normal((8, 3))).requires_grad_()
    y = torch.from_numpy(g.standard_normal(8))
    w = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    loss, _ = f(x=x, y=y, w=w)
    loss2, _ = f(x=x, y=y, w=w)
    assert loss.item() == loss2.item()  # the same params both times
    np.testing.assert_array_equal(m.get_param("w"), np.zeros(3))
    assert m.get_param("b") == 0.0
    loss.backward()
    want = 2 * x.detach().T @ (x.detach() @ w.detach() - y) / 8
    torch.testing.assert_close(w.grad, want, rtol=1e-12, atol=1e-14)
    assert torch.autograd.gradcheck(lambda x, w: f(x=x, y=y, w=w)[0], (x, w))
    np.testing.assert_array_equal(m.get_param("w"), np.zeros(3))


def test_integer_arguments_and_outputs(load):
    m = load("dtypes")
    f = weft.torch.function(m)
    scale = torch.tensor(3.0, requires_grad=True)
    img = torch.tensor([[1, 2, 3, 4], [250, 6, 7, 8]], dtype=torch.uint8)
    mask = torch.tensor([True, False])
    n = torch.tensor([1, 2], dtype=torch.int32)
    z, cnt, m2, big = f(img=img, mask=mask, k=torch.tensor(5), n=n, scale=scale)
    assert z.dtype == torch.float32 and cnt.dtype == torch.int64 and big.dtype == torch.bool
    assert cnt.item() == 6 and m2.tolist() == [2, 4]
    assert z.requires_grad and not cnt.requires_grad and not big.requires_grad
    z.sum().backward()
    assert scale.grad.item() == 10.0  # 1 + 2 + 3 + 4 in the unmasked row


def test_argument_errors(load):
    m = load("layer")
    f = weft.torch.function(m)
    with pytest.raises(weft.UsageError, match="no input or param named `q`"):
        f(x=torch.zeros(2, 4, dtype=torch.float64), q=torch.zeros(1))
    with pytest.raises(weft.UsageError, match="input `x` was not given"):
        f(w=torch.zeros(4, 3, dtype=torch.float64))
    with pytest.raises(weft.DataError, match="input `x` expects f64\\[B, 4\\]"):
        f(x=torch.zeros(2, 4))  # float32: not converted
    with pytest.raises(TypeError):
        weft.torch.function("not a model")


# ---------------------------------------------------------------------------
# Training: a weft layer inside a PyTorch model


class TorchMLP(torch.nn.Module):
    """pre (torch) -> relu(x @ w1 + b1) @ w2 + b2 (torch or weft)."""

    def __init__(self, weft_fn, init):
        super().__init__()
        self.pre = torch.nn.Linear(5, 4)
        with torch.no_grad():
            self.pre.weight.copy_(init["pre.weight"])
            self.pre.bias.copy_(init["pre.bias"])
        self.w1 = torch.nn.Parameter(init["w1"].clone())
        self.b1 = torch.nn.Parameter(init["b1"].clone())
        self.w2 = torch.nn.Parameter(init["w2"].clone())
        self.b2 = torch.nn.Parameter(init["b2"].clone())
        self.weft_fn = weft_fn

    def forward(self, x):
        h = torch.tanh(self.pre(x))
        if self.weft_fn is None:
            return torch.relu(h @ self.w1 + self.b1) @ self.w2 + self.b2
        (logits,) = self.weft_fn(x=h, w1=self.w1, b1=self.b1, w2=self.w2, b2=self.b2)
        return logits


def train(model, opt_cls, x, y, steps, **opt):
    opt = opt_cls(model.parameters(), **opt)
    losses = []
    for i in range(steps):
        j = (i * 16) % len(x)
        xb, yb = x[j : j + 16], y[j : j + 16]
        loss = torch.nn.functional.cross_entropy(model(xb), yb)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses


@pytest.mark.parametrize(
    "opt_cls, opt",
    [(torch.optim.SGD, {"lr": 0.2, "momentum": 0.5}), (torch.optim.Adam, {"lr": 0.01})],
)
def test_training_matches_pytorch(load, opt_cls, opt):
    m = load("mlp")
    assert m.params == {
        "w1": ("float32", (4, 16)),
        "b1": ("float32", (16,)),
        "w2": ("float32", (16, 3)),
        "b2": ("float32", (3,)),
    }
    torch.manual_seed(0)
    x = torch.randn(128, 5)
    y = (x[:, 0] > 0).long() + (x[:, 1] > 0.5).long()  # 3 classes
    init = {
        "pre.weight": torch.randn(4, 5) * 0.5,
        "pre.bias": torch.zeros(4),
        # The weft program's own initial params.
        **{k: torch.from_numpy(m.get_param(k)) for k in ("w1", "b1", "w2", "b2")},
    }
    ours = TorchMLP(weft.torch.function(m), init)
    ref = TorchMLP(None, init)
    steps = 60
    l_ours = train(ours, opt_cls, x, y, steps, **opt)
    l_ref = train(ref, opt_cls, x, y, steps, **opt)
    np.testing.assert_allclose(l_ours, l_ref, rtol=2e-4, atol=1e-5)
    assert l_ours[-1] < 0.6 * l_ours[0]  # it learns
    for name in ("w1", "b1", "w2", "b2"):
        torch.testing.assert_close(getattr(ours, name), getattr(ref, name), rtol=1e-3, atol=1e-4)
    # The model's own params were never touched by the PyTorch training.
    torch.testing.assert_close(torch.from_numpy(m.get_param("w1")), init["w1"])


def test_backward_differentiates_the_step_its_forward_ran(load):
    """A program reading `step` (per-step noise): each forward call sees a new
    step, and its backward differentiates that step, not the next one."""
    m = load("noise")
    f = weft.torch.function(m)
    x = torch.ones(3, dtype=torch.float64, requires_grad=True)
    (y0,) = f(x=x)
    (y1,) = f(x=x)
    assert not torch.equal(y0, y1)  # steps 0 and 1: different noise
    assert m.step == 2
    y0.sum().backward()
    # y = x * n, so dy/dx = n: the noise of step 0, which y0 holds (x = 1).
    assert torch.equal(x.grad, y0.detach())
    assert m.step == 2
