#!/usr/bin/env python3
"""Reference numbers for bend's libtorch-style tensor API (tests/test_tensor_api.cpp), from real PyTorch.

Run once (/usr/bin/python3 scripts/torch_api_reference.py > /tmp/ref.txt, with Debian's python3-torch) and
paste the printed C++ constants into tests/test_tensor_api.cpp; the tests themselves do not need torch.

Inputs are the fixed patterns of scripts/torch_layer_reference.py, which the C++ test rebuilds bit for
bit: pattern(shape, a, b, scale)[i] = float32(scale * sin(a * i + b)) over the flattened index i, and
steps() rounds it to multiples of 0.5 (ties for argmax and the comparisons). Each differentiable case
prints the output and, after y.backward(pattern(y.shape, 0.23, 0.5)), the inputs' gradients.
"""

import torch

from reference_inputs import pattern, steps, seed_for, emit

torch.set_default_dtype(torch.float32)


def emit_shape(name, t):
    print(f"const Shape kTorch_{name}_shape{{{', '.join(str(d) for d in t.shape)}}};")


# --- matmul: every 1-d case, batch broadcasting, and the transpose flags on the last two dims ---
MATMUL_CASES = [
    ("dot", (3,), (3,), False, False),
    ("mv", (2, 3), (3,), False, False),
    ("vm", (3,), (3, 4), False, False),
    ("stacked", (2, 3, 4), (4, 5), False, False),
    ("stacked_tb", (2, 3, 4), (5, 4), False, True),
    ("broadcast_both", (2, 1, 3, 4), (5, 4, 2), False, False),
    ("broadcast_a", (3, 4), (2, 4, 5), False, False),
    ("batched", (2, 3, 4), (2, 4, 5), False, False),
    ("vector_batched", (4,), (2, 4, 5), False, False),
    ("batched_vector", (2, 3, 4), (4,), False, False),
    ("batched_ta_tb", (2, 4, 3), (2, 5, 4), True, True),
    ("stacked_ta", (2, 4, 3), (4, 5), True, False),
]

for name, a_shape, b_shape, ta, tb in MATMUL_CASES:
    a = pattern(a_shape, 0.37, 0.1, 1.5).requires_grad_()
    b = pattern(b_shape, 0.71, 0.3, 0.5).requires_grad_()
    y = torch.matmul(a.transpose(-1, -2) if ta else a, b.transpose(-1, -2) if tb else b)
    y.backward(seed_for(y))
    emit_shape(f"matmul_{name}", y)
    emit(f"matmul_{name}_y", y)
    emit(f"matmul_{name}_da", a.grad)
    emit(f"matmul_{name}_db", b.grad)

# --- transpose and permute ---
x = pattern((2, 3, 4, 5), 0.37, 0.1).requires_grad_()
for name, fn in [("transpose_1_3", lambda t: t.transpose(1, 3)),
                 ("transpose_neg", lambda t: t.transpose(-1, 0)),
                 ("permute", lambda t: t.permute(2, 0, 3, 1)),
                 ("permute_neg", lambda t: t.permute(-1, -2, 0, 1))]:
    x.grad = None
    y = fn(x)
    # A non-uniform upstream gradient that is not itself permuted: dx = permute⁻¹(dy).
    y.backward(seed_for(y))
    emit_shape(name, y)
    emit(f"{name}_y", y)
    emit(f"{name}_dx", x.grad)

# --- argmax (ties: the first maximum; NaN: the maximum) ---
s = steps((3, 4, 5), 0.9, 0.2)
emit("argmax_input_check", s)
emit("argmax_all", torch.argmax(s))
for dim in (0, 1, 2, -1):
    emit(f"argmax_dim{dim if dim >= 0 else 'm1'}", torch.argmax(s, dim))
emit("argmax_dim1_keepdim", torch.argmax(s, 1, keepdim=True))
emit_shape("argmax_dim1_keepdim", torch.argmax(s, 1, keepdim=True))
with_nan = torch.tensor([[1.0, float("nan"), 3.0, float("nan")], [2.0, 5.0, 5.0, -1.0]])
emit("argmax_nan", torch.argmax(with_nan, 1))

# --- comparisons, broadcast and with a scalar ---
a = steps((2, 3), 0.9, 0.2)
b = steps((3,), 1.7, 0.4)
c = steps((2, 1), 0.5, 0.1)
d = steps((1, 3), 1.1, 0.6)
emit("cmp_a", a)
emit("cmp_b", b)
for op in ("eq", "ne", "lt", "le", "gt", "ge"):
    emit(f"cmp_{op}_ab", getattr(torch, op)(a, b).float())
    emit(f"cmp_{op}_cd", getattr(torch, op)(c, d).float())
    emit(f"cmp_{op}_scalar", getattr(torch, op)(a, 1.0).float())
emit("cmp_eq_ab_sum", (a == b).sum())
