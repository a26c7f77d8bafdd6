"""The inputs and output format shared by the PyTorch reference scripts (torch_*_reference.py).

The C++ tests build the same inputs (tests/reference_inputs.hpp), so the numbers these scripts print
apply to them: element i of a pattern is float(scale * sin(a*i + b)).
"""
import math

import torch


def pattern(shape, a, b, scale=1.0):
    n = math.prod(shape)
    return torch.tensor([scale * math.sin(a * i + b) for i in range(n)], dtype=torch.float32).reshape(shape)


def steps(shape, a, b):
    """The pattern rounded to multiples of 0.5, so that values tie (max pooling, argmax)."""
    n = math.prod(shape)
    return torch.tensor([math.floor(2.0 * math.sin(a * i + b) + 0.5) / 2.0 for i in range(n)],
                        dtype=torch.float32).reshape(shape)


def seed_for(y):
    """The upstream gradient for an output y."""
    return pattern(tuple(y.shape), 0.23, 0.5)


def emit(name, t):
    """One C++ line: const std::vector<double> kTorch_<name> = {...};"""
    values = ", ".join(repr(float(v)) for v in t.detach().reshape(-1))
    print(f"const std::vector<double> kTorch_{name} = {{{values}}};")
