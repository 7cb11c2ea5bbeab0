"""A weft model as a differentiable PyTorch function.

    import weft, weft.torch
    m = weft.build("layer.weft")            # y = tanh(x @ w + b)
    layer = weft.torch.function(m)
    (y,) = layer(x=x, w=w, b=b)             # torch tensors; w and b optional
    y.sum().backward()                      # x.grad, w.grad, b.grad

The function runs one forward step of the program (``Model.run(1)``) and its
backward is the program's vector-Jacobian product (``Model.vjp``). It leaves
the model's params as they were, also for a program with ``update``s: a
param given as an argument is used for that call only, and the updates the
step computes are undone. The model's step counter advances with each
forward call, so a program whose values depend on ``step`` (``batch``,
per-step seeds, ``nn.dropout``) sees a new step at each call, as a PyTorch
module sees a new dropout mask; the backward pass differentiates the step
its forward call ran.
Arrays go through the CPU; results come back on the device of the first
tensor argument.

This module needs PyTorch and is imported only when used: ``import weft``
does not import it.
"""

import numpy as np
import torch

from . import Model, UsageError, WeftError, _name_list
from . import _capi

__all__ = ["function"]


def _to_numpy(value):
    if isinstance(value, torch.Tensor):
        t = value.detach()
        if t.device.type != "cpu":
            t = t.cpu()
        t = t.resolve_conj().resolve_neg()
        try:
            return t.numpy()
        except TypeError as e:  # bfloat16 and other dtypes NumPy lacks
            raise UsageError("weft has no dtype for a tensor of %s: %s" % (t.dtype, e)) from None
    return value


def _snapshot(model):
    """Copies of every param's current value (None where it has none yet:
    a param whose sizes the first run binds)."""
    saved = {}
    for name in model._by_name[_capi.PARAM]:
        try:
            saved[name] = model.get_param(name)
        except WeftError:
            saved[name] = None
    return saved


def _restore(model, saved):
    for name, value in saved.items():
        if value is not None:
            model.set_param(name, value)


def _with_params(model, params, call):
    """``call()`` with the model's params set to ``params``; every param is
    put back as it was afterwards."""
    with model._lock:
        saved = _snapshot(model)
        try:
            for name, value in params.items():
                model.set_param(name, value)
            return call()
        finally:
            _restore(model, saved)


class _Spec:
    """What one call passes through autograd besides its tensors."""

    __slots__ = ("model", "names", "device")

    def __init__(self, model, names, device):
        self.model = model
        self.names = names
        self.device = device


class _WeftFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, spec, *args):
        model = spec.model
        inputs, given = {}, {}
        for name, value in zip(spec.names, args):
            target = inputs if name in model._by_name[_capi.INPUT] else given
            target[name] = _to_numpy(value)
        with model._lock:
            # The values of the params not given: the backward pass runs the
            # vjp at these (copies), and at the given ones (saved tensors).
            omitted = {}
            for name in model._by_name[_capi.PARAM]:
                if name not in given:
                    try:
                        omitted[name] = model.get_param(name)
                    except WeftError:
                        pass
            ctx.step = model.step
            outs = _with_params(model, given, lambda: model.run(1, **inputs))
        ctx.spec = spec
        ctx.omitted = omitted
        ctx.out_shapes = [outs[d.name].shape for d in model._outputs]
        ctx.tensor_slots = [i for i, a in enumerate(args) if isinstance(a, torch.Tensor)]
        ctx.others = [None if isinstance(a, torch.Tensor) else a for a in args]
        ctx.save_for_backward(*[args[i] for i in ctx.tensor_slots])
        results = []
        non_diff = []
        for decl in model._outputs:
            t = torch.from_numpy(outs[decl.name])
            if spec.device is not None and spec.device.type != "cpu":
                t = t.to(spec.device)
            if not decl.floating:
                non_diff.append(t)
            results.append(t)
        if non_diff:
            ctx.mark_non_differentiable(*non_diff)
        return tuple(results)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, *grad_outputs):
        spec = ctx.spec
        model = spec.model
        args = list(ctx.others)
        for slot, t in zip(ctx.tensor_slots, ctx.saved_tensors):
            args[slot] = t
        if not any(ctx.needs_input_grad[1:]):
            return (None,) * (1 + len(args))
        cotangents = {}
        for decl, shape, g in zip(model._outputs, ctx.out_shapes, grad_outputs):
            if g is None or not decl.floating:
                continue
            if tuple(g.shape) != shape and g.numel() == int(np.prod(shape)):
                g = g.reshape(shape)  # autograd may hand a scalar's as [1]
            cotangents[decl.name] = _to_numpy(g)
        inputs, params = {}, dict(ctx.omitted)
        for name, value in zip(spec.names, args):
            target = inputs if name in model._by_name[_capi.INPUT] else params
            target[name] = _to_numpy(value)
        def at_forward_step():
            now = model.step
            model.step = ctx.step
            try:
                return model.vjp(cotangents, **inputs)
            finally:
                model.step = now

        grads = _with_params(model, params, at_forward_step)
        result = [None]  # the spec
        for k, (name, value) in enumerate(zip(spec.names, args)):
            g = grads.get(name)
            if g is None or not ctx.needs_input_grad[1 + k] or not isinstance(value, torch.Tensor):
                result.append(None)
                continue
            result.append(torch.from_numpy(g).to(device=value.device, dtype=value.dtype))
        return tuple(result)


def function(model):
    """A callable on torch tensors that runs one step of ``model``.

    Keyword arguments are named as the model's inputs (all required) and,
    optionally, its params (an omitted param takes the model's current
    value). It returns the outputs as a tuple in ``model.outputs`` order and
    is differentiable by ``torch.autograd`` with respect to every floating
    argument. The model's params are left unchanged."""
    if not isinstance(model, Model):
        raise TypeError("weft.torch.function expects a weft.Model, got %r" % type(model).__name__)
    input_names = [d.name for d in model._inputs]
    param_names = [d.name for d in model._params]

    def call(**kwargs):
        for name in kwargs:
            if name not in model._by_name[_capi.INPUT] and name not in model._by_name[_capi.PARAM]:
                raise UsageError(
                    "no input or param named `%s`; %s; %s"
                    % (
                        name,
                        _name_list(model._inputs, "input"),
                        _name_list(model._params, "param"),
                    )
                )
        for decl in model._inputs:
            if decl.name not in kwargs:
                raise UsageError(
                    "input `%s` was not given: expected %s" % (decl.name, decl.type_text())
                )
        names = tuple(n for n in input_names + param_names if n in kwargs)
        args = [kwargs[n] for n in names]
        device = next((a.device for a in args if isinstance(a, torch.Tensor)), None)
        return _WeftFunction.apply(_Spec(model, names, device), *args)

    call.model = model
    call.__doc__ = "weft program %s: %r" % (model.name, model)
    return call
