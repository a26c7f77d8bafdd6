#!/usr/bin/env python3
"""Reference numbers for bend's embedding and attention ops and modules, from real PyTorch 1.13.

Run once (/usr/bin/python3 scripts/torch_attention_reference.py > tests/torch_attention_reference.hpp, with
Debian's python3-torch); tests/test_attention.cpp includes the printed constants and does not need torch.

Inputs, parameters and upstream gradients are the fixed patterns of scripts/torch_layer_reference.py:
pattern(shape, a, b, scale)[i] = float32(scale * sin(a * i + b)) over the flattened index i. Parameters of a
module are set in state_dict order, the k-th from param_pattern(shape, k). For each case the script prints
the forward output, then, after y.backward(seed_for(y)), the gradients of the inputs and parameters.
Boolean masks use PyTorch 1.13's nn.MultiheadAttention convention: True = masked out. PyTorch 1.13 has no
F.scaled_dot_product_attention nor is_causal, so the attention op is checked against its math written
with torch ops, and is_causal against the equivalent boolean mask torch.ones(L, S).triu(1).
"""
import math

import torch

from reference_inputs import pattern, seed_for, emit
import torch.nn as nn
import torch.nn.functional as F

torch.set_default_dtype(torch.float32)


def param_pattern(shape, k):
    return pattern(shape, 0.1 + 0.07 * k, 0.3 * k, 0.5)


def leaf(t):
    return t.clone().requires_grad_()


def set_params(module):
    with torch.no_grad():
        for k, (_, p) in enumerate(module.named_parameters()):
            p.copy_(param_pattern(tuple(p.shape), k))


def emit_param_grads(prefix, module):
    """Each parameter's gradient, then the list of (state_dict name, gradient) in state_dict order."""
    entries = []
    for name, p in module.named_parameters():
        var = f"{prefix}_d_{name.replace('.', '_')}"
        emit(var, p.grad)
        entries.append(f'{{"{name}", &kTorch_{var}}}')
    print(f"const std::vector<std::pair<const char*, const std::vector<double>*>> kTorch_{prefix}_param_grads = "
          f"{{{', '.join(entries)}}};")


def causal(lq, lk):
    return torch.ones(lq, lk, dtype=torch.bool).triu(1)


def embedding():
    w = leaf(pattern((6, 3), 0.7, 0.1))
    idx = torch.tensor([[1, 5, 0], [2, 1, 1]])
    y = F.embedding(idx, w, padding_idx=1)
    y.backward(seed_for(y))
    emit("embedding_y", y)
    emit("embedding_dw", w.grad)


def masked_softmax():
    x0 = pattern((2, 3, 4), 0.9, 0.3, 2.0)
    additive = pattern((3, 4), 1.3, 0.2)
    additive[0, 1] = -math.inf
    additive[2, 3] = -math.inf
    boolean = torch.tensor([[[1, 0, 0, 1]], [[0, 0, 1, 0]]], dtype=torch.bool)
    for name, scores in [("additive", lambda x: x + additive),
                         ("boolean", lambda x: x.masked_fill(boolean, -math.inf)),
                         ("causal", lambda x: x.masked_fill(causal(3, 4), -math.inf))]:
        x = leaf(x0)
        y = torch.softmax(scores(x), dim=-1)
        y.backward(seed_for(y))
        emit(f"msoftmax_{name}_y", y)
        emit(f"msoftmax_{name}_dx", x.grad)


def attention():
    q0 = pattern((2, 2, 3, 4), 0.41, 0.1)
    k0 = pattern((2, 2, 5, 4), 0.53, 0.7)
    v0 = pattern((2, 2, 5, 3), 0.67, 1.3)
    additive = pattern((3, 5), 1.1, 0.4)
    boolean = torch.tensor([[0, 0, 1, 0, 1], [1, 0, 0, 0, 0]], dtype=torch.bool).reshape(2, 1, 1, 5)
    cases = [("none", lambda s: s), ("additive", lambda s: s + additive),
             ("boolean", lambda s: s.masked_fill(boolean, -math.inf)),
             ("causal", lambda s: s.masked_fill(causal(3, 5), -math.inf))]
    for name, mask in cases:
        q, k, v = leaf(q0), leaf(k0), leaf(v0)
        p = torch.softmax(mask(q @ k.transpose(-2, -1) / math.sqrt(4)), dim=-1)
        y = p @ v
        y.backward(seed_for(y))
        emit(f"sdpa_{name}_y", y)
        emit(f"sdpa_{name}_dq", q.grad)
        emit(f"sdpa_{name}_dk", k.grad)
        emit(f"sdpa_{name}_dv", v.grad)


def mha():
    m = nn.MultiheadAttention(8, 2, batch_first=True)
    set_params(m)
    x = leaf(pattern((2, 3, 8), 0.29, 0.6))
    attn_mask = pattern((3, 3), 1.7, 0.5, 0.5)
    kpm = torch.tensor([[0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    y, w = m(x, x, x, key_padding_mask=kpm, need_weights=True, attn_mask=attn_mask)
    y.backward(seed_for(y))
    emit("mha_self_y", y)
    emit("mha_self_w", w)
    emit("mha_self_dx", x.grad)
    emit_param_grads("mha_self", m)

    m = nn.MultiheadAttention(8, 2, batch_first=True)
    set_params(m)
    q, k, v = leaf(pattern((2, 3, 8), 0.29, 0.6)), leaf(pattern((2, 4, 8), 0.37, 1.1)), leaf(pattern((2, 4, 8), 0.43, 2.0))
    bool_mask = torch.tensor([(i * 7) % 5 == 0 for i in range(4 * 3 * 4)], dtype=torch.bool).reshape(4, 3, 4)
    y, w = m(q, k, v, attn_mask=bool_mask, average_attn_weights=False)
    y.backward(seed_for(y))
    emit("mha_cross_y", y)
    emit("mha_cross_w", w)
    emit("mha_cross_dq", q.grad)
    emit("mha_cross_dk", k.grad)
    emit("mha_cross_dv", v.grad)
    emit_param_grads("mha_cross", m)

    m = nn.MultiheadAttention(8, 2, bias=False, batch_first=False)
    set_params(m)
    x = leaf(pattern((3, 2, 8), 0.29, 0.6))  # [L, B, E]
    y, _ = m(x, x, x, attn_mask=causal(3, 3), need_weights=False)
    y.backward(seed_for(y))
    emit("mha_causal_y", y)
    emit("mha_causal_dx", x.grad)
    emit_param_grads("mha_causal", m)


class SwiGLUEncoderLayer(nn.TransformerEncoderLayer):
    """bend's activation="swiglu": linear1 to 2*dim_feedforward, gate first."""

    def __init__(self, d_model, nhead, dim_feedforward, **kwargs):
        super().__init__(d_model, nhead, dim_feedforward, **kwargs)
        self.linear1 = nn.Linear(d_model, 2 * dim_feedforward)

    def _ff_block(self, x):
        gate, value = self.linear1(x).chunk(2, dim=-1)
        return self.dropout2(self.linear2(self.dropout(F.silu(gate) * value)))


def encoder_layer():
    src_mask = pattern((3, 3), 1.7, 0.5, 0.5)
    kpm = torch.tensor([[0, 0, 1], [0, 0, 0]], dtype=torch.bool)
    cases = [("relu", nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
              dict(src_mask=src_mask, src_key_padding_mask=kpm)),
             ("gelu_norm_first", nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, activation="gelu",
                                                            batch_first=True, norm_first=True),
              dict(src_mask=causal(3, 3))),
             ("swiglu", SwiGLUEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True),
              dict(src_key_padding_mask=kpm))]
    for name, layer, masks in cases:
        set_params(layer)
        x = leaf(pattern((2, 3, 8), 0.29, 0.6))
        y = layer(x, **masks)
        y.backward(seed_for(y))
        emit(f"enc_{name}_y", y)
        emit(f"enc_{name}_dx", x.grad)
        emit_param_grads(f"enc_{name}", layer)


def encoder():
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
    enc = nn.TransformerEncoder(layer, 2, norm=nn.LayerNorm(8), enable_nested_tensor=False)
    set_params(enc)
    x = leaf(pattern((2, 3, 8), 0.29, 0.6))
    y = enc(x, src_key_padding_mask=torch.tensor([[0, 0, 1], [0, 0, 0]], dtype=torch.bool))
    y.backward(seed_for(y))
    emit("encoder_y", y)
    emit("encoder_dx", x.grad)
    params = dict(enc.named_parameters())
    for name in ["layers.0.self_attn.in_proj_weight", "layers.1.linear2.weight", "norm.weight"]:
        emit(f"encoder_d_{name.replace('.', '_')}", params[name].grad)


print("// Produced by scripts/torch_attention_reference.py with PyTorch " + torch.__version__ + ".")
print("#pragma once")
print("#include <utility>")
print("#include <vector>")
print("// clang-format off")
embedding()
masked_softmax()
attention()
mha()
encoder_layer()
encoder()
print("// clang-format on")
