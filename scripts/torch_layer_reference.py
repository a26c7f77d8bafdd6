#!/usr/bin/env python3
"""Reference numbers for bend's convolution, pooling and normalisation layers, from real PyTorch.

Run once (/usr/bin/python3 scripts/torch_layer_reference.py > /tmp/ref.txt, with Debian's python3-torch)
and paste the printed C++ constants into tests/test_layers.cpp; the tests themselves do not need torch.

Every input, weight and upstream gradient is a fixed pattern, pattern(shape, a, b, scale)[i] =
float32(scale * sin(a * i + b)) over the flattened index i, which the C++ test rebuilds bit for bit
(steps() rounds it to multiples of 0.5, to make ties for max pooling). For each case the script prints
the forward output, then, after y.backward(dy), the gradients of the input and of each parameter;
for batch norm also the running statistics after a few training steps and an eval-mode pass.
"""

import torch

from reference_inputs import pattern, steps, seed_for, emit
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)


def conv_case(name, x_shape, w_shape, bias, **kwargs):
    x = pattern(x_shape, 0.37, 0.1, 1.5).requires_grad_()
    conv = torch.nn.Conv2d(w_shape[1], w_shape[0], (w_shape[2], w_shape[3]), bias=bias, **kwargs)
    with torch.no_grad():
        conv.weight.copy_(pattern(w_shape, 0.71, 0.3, 0.5))
        if bias:
            conv.bias.copy_(pattern((w_shape[0],), 1.3, 0.2, 0.5))
    y = conv(x)
    y.backward(seed_for(y))
    emit(f"{name}_y", y)
    emit(f"{name}_dx", x.grad)
    emit(f"{name}_dw", conv.weight.grad)
    if bias:
        emit(f"{name}_db", conv.bias.grad)


def pool_case(name, x, module):
    x = x.requires_grad_()
    y = module(x)
    y.backward(seed_for(y))
    emit(f"{name}_y", y)
    emit(f"{name}_dx", x.grad)


def batch_norm_case(name, module_type, x_shape, momentum=0.1):
    bn = module_type(x_shape[1], momentum=momentum)
    with torch.no_grad():
        bn.weight.copy_(pattern((x_shape[1],), 0.9, 0.4, 0.5) + 1.0)
        bn.bias.copy_(pattern((x_shape[1],), 1.1, 0.6, 0.5))
    # Three training steps on shifted, scaled inputs; gradients from the first.
    for step in range(3):
        x = (pattern(x_shape, 0.37 + 0.05 * step, 0.1, 1.5 + step) + 0.25 * step).requires_grad_()
        y = bn(x)
        if step == 0:
            y.backward(seed_for(y))
            emit(f"{name}_train_y", y)
            emit(f"{name}_train_dx", x.grad)
            emit(f"{name}_train_dw", bn.weight.grad)
            emit(f"{name}_train_db", bn.bias.grad)
    emit(f"{name}_running_mean", bn.running_mean)
    emit(f"{name}_running_var", bn.running_var)
    print(f"// {name}: num_batches_tracked = {int(bn.num_batches_tracked)}")
    bn.eval()
    bn.weight.grad = None
    bn.bias.grad = None
    x = pattern(x_shape, 0.29, 0.7, 2.0).requires_grad_()
    y = bn(x)
    y.backward(seed_for(y))
    emit(f"{name}_eval_y", y)
    emit(f"{name}_eval_dx", x.grad)
    emit(f"{name}_eval_dw", bn.weight.grad)
    emit(f"{name}_eval_db", bn.bias.grad)


def layer_norm_case(name, x_shape, normalized_shape):
    ln = torch.nn.LayerNorm(normalized_shape)
    with torch.no_grad():
        ln.weight.copy_(pattern(normalized_shape, 0.9, 0.4, 0.5) + 1.0)
        ln.bias.copy_(pattern(normalized_shape, 1.1, 0.6, 0.5))
    x = pattern(x_shape, 0.37, 0.1, 1.5).requires_grad_()
    y = ln(x)
    y.backward(seed_for(y))
    emit(f"{name}_y", y)
    emit(f"{name}_dx", x.grad)
    emit(f"{name}_dw", ln.weight.grad)
    emit(f"{name}_db", ln.bias.grad)


def main():
    print(f"// Produced by scripts/torch_layer_reference.py with PyTorch {torch.__version__}.")
    conv_case("conv_plain", (2, 3, 7, 6), (4, 3, 3, 2), True)
    conv_case("conv_strided", (2, 2, 9, 8), (3, 2, 3, 3), True, stride=(2, 3), padding=(1, 2), dilation=(2, 1))
    conv_case("conv_pointwise", (2, 3, 4, 5), (4, 3, 1, 1), False)
    pool_case("max_pool", pattern((2, 3, 6, 7), 0.37, 0.1, 1.5), torch.nn.MaxPool2d(3, stride=2, padding=1))
    pool_case("max_pool_ties", steps((1, 2, 5, 5), 0.9, 0.2), torch.nn.MaxPool2d(2, stride=1))
    pool_case("avg_pool", pattern((2, 2, 7, 6), 0.37, 0.1, 1.5), torch.nn.AvgPool2d(3, stride=2, padding=1))
    pool_case("avg_pool_exclude_pad", pattern((2, 2, 7, 6), 0.37, 0.1, 1.5),
              torch.nn.AvgPool2d((3, 2), stride=(2, 1), padding=1, count_include_pad=False))
    # ceil_mode (an extra window that hangs past the padding), dilation, and the rule that drops a last
    # window starting in the right padding (width 6, kernel 2, stride 4, padding 1: 2 columns, not 3).
    pool_case("max_pool_ceil_dilation", pattern((2, 2, 8, 8), 0.37, 0.1, 1.5),
              torch.nn.MaxPool2d(3, stride=2, padding=1, dilation=2, ceil_mode=True))
    pool_case("max_pool_ceil_last_window", pattern((1, 2, 6, 7), 0.41, 0.3, 1.5),
              torch.nn.MaxPool2d(2, stride=(4, 3), padding=1, ceil_mode=True))
    pool_case("avg_pool_ceil", pattern((2, 2, 8, 7), 0.37, 0.1, 1.5),
              torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True))
    pool_case("avg_pool_ceil_exclude_pad", pattern((2, 2, 8, 7), 0.37, 0.1, 1.5),
              torch.nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, count_include_pad=False))
    pool_case("avg_pool_ceil_last_window", pattern((1, 2, 6, 7), 0.41, 0.3, 1.5),
              torch.nn.AvgPool2d(2, stride=(4, 3), padding=1, ceil_mode=True))
    batch_norm_case("bn2d", torch.nn.BatchNorm2d, (3, 4, 3, 5))
    batch_norm_case("bn1d", torch.nn.BatchNorm1d, (6, 5))
    batch_norm_case("bn1d_seq", torch.nn.BatchNorm1d, (4, 3, 5))
    batch_norm_case("bn2d_cumulative", torch.nn.BatchNorm2d, (2, 3, 2, 2), momentum=None)
    layer_norm_case("ln_last", (3, 4, 5), (5,))
    layer_norm_case("ln_two", (3, 4, 5), (4, 5))


if __name__ == "__main__":
    main()
