#!/usr/bin/env python3
"""A nanoGPT-shaped GPT in PyTorch (model.py's classes and state_dict names, written here), and a check
that it loads a bend GPT file by name and computes the same loss.

    torch_gpt.py FILE BATCH

FILE is a bend GPT (bend train --model gpt --save FILE); BATCH a safetensors file with "x" and "y",
[B, T] token ids as float32. The GPT is built from FILE's metadata (bend.gpt.*, bend.act), the file is
loaded with load_state_dict(strict=False), and the script fails unless the only keys missing are the
causal-mask buffers "transformer.h.N.attn.bias" (nanoGPT's without flash attention) and nothing is
unexpected. Prints JSON: {"loss": ..., "missing": [...], "parameters": N}.

A file with bend.gpt.head "adaptive" gets nn.AdaptiveLogSoftmaxWithLoss(n_embd, vocab_size, cutoffs,
div_value, head_bias=False) as lm_head, untied, and its loss is that module's .loss.

bench/torch_gpt.py imports GPT, GPTConfig and fortunes_text from here.
"""
import json
import math
import os
import sys
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_load_safetensors import read_safetensors  # noqa: E402


@dataclass
class GPTConfig:
    block_size: int = 256
    vocab_size: int = 65
    n_layer: int = 6
    n_head: int = 6
    n_embd: int = 384
    dropout: float = 0.0
    bias: bool = True
    act: str = "gelu"
    head: str = "full"
    cutoffs: tuple = ()
    div_value: float = 4.0


class LayerNorm(nn.Module):
    """LayerNorm with an optional bias (torch 1.13's nn.LayerNorm always has one)."""

    def __init__(self, ndim, bias):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(ndim))
        self.bias = nn.Parameter(torch.zeros(ndim)) if bias else None

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, 1e-5)


class CausalSelfAttention(nn.Module):
    def __init__(self, config):
        super().__init__()
        assert config.n_embd % config.n_head == 0
        self.c_attn = nn.Linear(config.n_embd, 3 * config.n_embd, bias=config.bias)
        self.c_proj = nn.Linear(config.n_embd, config.n_embd, bias=config.bias)
        self.attn_dropout = nn.Dropout(config.dropout)
        self.resid_dropout = nn.Dropout(config.dropout)
        self.n_head = config.n_head
        self.n_embd = config.n_embd
        # torch 1.13 has no scaled_dot_product_attention: the mask is a buffer, as nanoGPT's slow path.
        mask = torch.tril(torch.ones(config.block_size, config.block_size))
        self.register_buffer("bias", mask.view(1, 1, config.block_size, config.block_size))

    def forward(self, x):
        B, T, C = x.size()
        q, k, v = self.c_attn(x).split(self.n_embd, dim=2)
        hs = C // self.n_head
        k = k.view(B, T, self.n_head, hs).transpose(1, 2)
        q = q.view(B, T, self.n_head, hs).transpose(1, 2)
        v = v.view(B, T, self.n_head, hs).transpose(1, 2)
        att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hs))
        att = att.masked_fill(self.bias[:, :, :T, :T] == 0, float("-inf"))
        att = self.attn_dropout(F.softmax(att, dim=-1))
        y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.hidden = 4 * config.n_embd
        self.gated = config.act == "swiglu"
        self.c_fc = nn.Linear(config.n_embd, (2 if self.gated else 1) * self.hidden, bias=config.bias)
        self.c_proj = nn.Linear(self.hidden, config.n_embd, bias=config.bias)
        self.dropout = nn.Dropout(config.dropout)
        self.act = config.act

    def forward(self, x):
        h = self.c_fc(x)
        if self.gated:
            h = F.silu(h[..., : self.hidden]) * h[..., self.hidden :]
        else:
            h = getattr(F, self.act)(h)
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.ln_1 = LayerNorm(config.n_embd, bias=config.bias)
        self.attn = CausalSelfAttention(config)
        self.ln_2 = LayerNorm(config.n_embd, bias=config.bias)
        self.mlp = MLP(config)

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    def __init__(self, config):
        super().__init__()
        self.config = config
        self.transformer = nn.ModuleDict(
            dict(
                wte=nn.Embedding(config.vocab_size, config.n_embd),
                wpe=nn.Embedding(config.block_size, config.n_embd),
                drop=nn.Dropout(config.dropout),
                h=nn.ModuleList([Block(config) for _ in range(config.n_layer)]),
                ln_f=LayerNorm(config.n_embd, bias=config.bias),
            )
        )
        if config.head == "adaptive":
            self.lm_head = nn.AdaptiveLogSoftmaxWithLoss(
                config.n_embd, config.vocab_size, list(config.cutoffs), div_value=config.div_value, head_bias=False
            )
        else:
            self.lm_head = nn.Linear(config.n_embd, config.vocab_size, bias=False)
            self.transformer.wte.weight = self.lm_head.weight  # weight tying
        self.apply(self._init_weights)
        for name, p in self.named_parameters():
            if name.endswith("c_proj.weight"):
                nn.init.normal_(p, mean=0.0, std=0.02 / math.sqrt(2 * config.n_layer))

    def _init_weights(self, module):
        if isinstance(module, nn.Linear):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
        elif isinstance(module, nn.Embedding):
            nn.init.normal_(module.weight, mean=0.0, std=0.02)

    def forward(self, idx, targets=None):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        x = self.transformer.ln_f(x)
        if self.config.head == "adaptive":
            flat = x.view(-1, x.size(-1))
            logits = self.lm_head.log_prob(flat).view(x.size(0), x.size(1), -1)
            loss = None if targets is None else self.lm_head(flat, targets.view(-1)).loss
            return logits, loss
        logits = self.lm_head(x)
        loss = None
        if targets is not None:
            loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss

    def configure_optimizers(self, weight_decay, learning_rate, betas):
        params = [p for p in self.parameters() if p.requires_grad]
        decay = [p for p in params if p.dim() >= 2]
        nodecay = [p for p in params if p.dim() < 2]
        groups = [{"params": decay, "weight_decay": weight_decay}, {"params": nodecay, "weight_decay": 0.0}]
        return torch.optim.AdamW(groups, lr=learning_rate, betas=betas)


def fortunes_text(directory="/usr/share/games/fortunes"):
    """fortune-mod's data files concatenated in name order, as bend's fortunes dataset reads them."""
    names = sorted(
        n
        for n in os.listdir(directory)
        if not n.endswith(".dat")
        and not os.path.islink(os.path.join(directory, n))
        and os.path.isfile(os.path.join(directory, n))
    )
    data = b"".join(open(os.path.join(directory, n), "rb").read() for n in names)
    return data.decode("utf-8")


def config_from(metadata):
    return GPTConfig(
        block_size=int(metadata["bend.gpt.block_size"]),
        vocab_size=int(metadata["bend.gpt.vocab_size"]),
        n_layer=int(metadata["bend.gpt.n_layer"]),
        n_head=int(metadata["bend.gpt.n_head"]),
        n_embd=int(metadata["bend.gpt.n_embd"]),
        dropout=0.0,
        bias=metadata["bend.gpt.bias"] == "true",
        act=metadata["bend.act"],
        head=metadata.get("bend.gpt.head", "full"),
        cutoffs=tuple(int(c) for c in metadata["bend.gpt.cutoffs"].split(",")) if "bend.gpt.cutoffs" in metadata else (),
        div_value=float(metadata.get("bend.gpt.div_value", "4")),
    )


def main():
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    tensors, metadata = read_safetensors(sys.argv[1])
    batch, _ = read_safetensors(sys.argv[2])
    model = GPT(config_from(metadata))
    result = model.load_state_dict(tensors, strict=False)
    missing = sorted(result.missing_keys)
    unexpected = sorted(result.unexpected_keys)
    masks = sorted(f"transformer.h.{i}.attn.bias" for i in range(model.config.n_layer))
    if unexpected or missing != masks:
        print(f"missing {missing}, unexpected {unexpected}", file=sys.stderr)
        return 1
    if model.config.head == "full" and model.lm_head.weight.data_ptr() != model.transformer.wte.weight.data_ptr():
        print("the head is not tied to the token embedding", file=sys.stderr)
        return 1
    model.eval()
    with torch.no_grad():
        _, loss = model(batch["x"].long(), batch["y"].long())
    n = sum(p.numel() for p in model.parameters())
    print(json.dumps({"loss": loss.item(), "missing": missing, "parameters": n, "head": model.config.head}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
