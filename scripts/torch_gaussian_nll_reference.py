#!/usr/bin/env python3
"""Reference numbers for bend's gaussian_nll_loss and alpha_dropout, from real PyTorch 1.13.

Run once (/usr/bin/python3 scripts/torch_gaussian_nll_reference.py > /tmp/ref.txt, with Debian's
python3-torch) and paste the printed C++ constants into tests/test_gaussian_nll_loss.cpp and
tests/test_alpha_dropout.cpp; the tests themselves do not need torch.

gaussian_nll_loss: input, target and var are fixed patterns (tests/reference_inputs.hpp builds the same);
var is |pattern| with one entry below eps (1e-8, clamped) and one exactly 0. For each case the script
prints the loss, then the gradients of input, target and var after backward (upstream 1, or
seed_for(loss) for reduction 'none').

alpha_dropout: the values F.alpha_dropout gives a kept 0, a kept 1 and a dropped element for several p,
read from its output on a large tensor (the mask is random; the three values are not).
"""

import torch
import torch.nn.functional as F

from reference_inputs import pattern, seed_for, emit

torch.set_default_dtype(torch.float32)


def inputs(var_shape=(3, 4)):
    x = pattern((3, 4), 0.37, 0.1, 1.5).requires_grad_()
    t = pattern((3, 4), 0.71, 0.3)
    var = pattern(var_shape, 1.3, 0.2).abs()
    if var.numel() == 12:
        var[0, 1] = 1e-8  # below eps: clamped
        var[2, 3] = 0.0
    var.requires_grad_()
    t.requires_grad_()
    return x, t, var


def nll_case(name, var_shape=(3, 4), **kwargs):
    x, t, var = inputs(var_shape)
    y = F.gaussian_nll_loss(x, t, var, **kwargs)
    y.backward(seed_for(y) if y.dim() > 0 else None)
    emit(f"{name}_loss", y)
    emit(f"{name}_dinput", x.grad)
    emit(f"{name}_dtarget", t.grad)
    emit(f"{name}_dvar", var.grad)


nll_case("gnll_mean")
nll_case("gnll_full_sum", full=True, reduction="sum")
nll_case("gnll_none", reduction="none")
nll_case("gnll_eps", eps=0.05)
nll_case("gnll_row", var_shape=(3, 1))
nll_case("gnll_row_squeezed", var_shape=(3,))

torch.manual_seed(0)
rows = []
for p in (0.05, 0.1, 0.2, 0.5):
    zeros = F.alpha_dropout(torch.zeros(20000), p, training=True)
    ones = F.alpha_dropout(torch.ones(20000), p, training=True)
    dropped = zeros.min().item()  # the dropped value is negative, a kept 0 becomes b > 0
    kept0 = zeros.max().item()
    kept1 = ones.max().item()
    rows += [p, kept0, kept1, dropped]
emit("alpha_dropout_p_kept0_kept1_dropped", torch.tensor(rows, dtype=torch.float64))
