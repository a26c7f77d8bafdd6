#!/usr/bin/env python3
"""nanoGPT's training loop (train.py: get_batch, get_lr, estimate_loss, AdamW with two groups, clipping)
in PyTorch 1.13 on the fortunes text, with the nanoGPT-shaped model of scripts/torch_gpt.py: the PyTorch
side of bench/gpt.sh. Prints one JSON line: the loss estimates, the loop's wall time, the thread count.

    torch_gpt.py [--steps 2000] [--threads 1] [--seed 1337] [...]   (defaults: nanoGPT's CPU settings)
"""
import argparse
import json
import math
import os
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from torch_gpt import GPT, GPTConfig, fortunes_text  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=2000)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument("--n-layer", type=int, default=4)
    p.add_argument("--n-head", type=int, default=4)
    p.add_argument("--n-embd", type=int, default=128)
    p.add_argument("--block-size", type=int, default=64)
    p.add_argument("--batch", type=int, default=12)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--min-lr", type=float, default=1e-4)
    p.add_argument("--warmup-iters", type=int, default=100)
    p.add_argument("--beta2", type=float, default=0.99)
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--grad-clip", type=float, default=1.0)
    p.add_argument("--eval-interval", type=int, default=250)
    p.add_argument("--eval-iters", type=int, default=20)
    p.add_argument("--bias", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)

    text = fortunes_text()
    chars = sorted(set(text))
    stoi = {c: i for i, c in enumerate(chars)}
    data = torch.tensor([stoi[c] for c in text], dtype=torch.long)
    n = int(0.9 * len(data))
    splits = {"train": data[:n], "val": data[n:]}

    def get_batch(split):
        d = splits[split]
        ix = torch.randint(len(d) - a.block_size, (a.batch,))
        x = torch.stack([d[i : i + a.block_size] for i in ix])
        y = torch.stack([d[i + 1 : i + 1 + a.block_size] for i in ix])
        return x, y

    config = GPTConfig(a.block_size, len(chars), a.n_layer, a.n_head, a.n_embd, 0.0, a.bias, "gelu")
    model = GPT(config)
    optimizer = model.configure_optimizers(a.weight_decay, a.lr, (0.9, a.beta2))

    def get_lr(it):
        if it < a.warmup_iters:
            return a.lr * (it + 1) / (a.warmup_iters + 1)
        if it > a.steps:
            return a.min_lr
        ratio = (it - a.warmup_iters) / (a.steps - a.warmup_iters)
        return a.min_lr + 0.5 * (1.0 + math.cos(math.pi * ratio)) * (a.lr - a.min_lr)

    @torch.no_grad()
    def estimate_loss():
        out = {}
        model.eval()
        for split in ("train", "val"):
            losses = torch.zeros(a.eval_iters)
            for k in range(a.eval_iters):
                _, loss = model(*get_batch(split))
                losses[k] = loss.item()
            out[split] = losses.mean().item()
        model.train()
        return out

    estimates = []
    start = time.perf_counter()
    cpu_start = time.process_time()
    for it in range(a.steps + 1):
        if it % a.eval_interval == 0 or it == a.steps:
            e = estimate_loss()
            estimates.append({"step": it, "train": e["train"], "val": e["val"]})
            print(f"step {it}: train loss {e['train']:.4f}, val loss {e['val']:.4f}", file=sys.stderr, flush=True)
        if it == a.steps:
            break
        for group in optimizer.param_groups:
            group["lr"] = get_lr(it)
        x, y = get_batch("train")
        _, loss = model(x, y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if a.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), a.grad_clip)
        optimizer.step()
    seconds = time.perf_counter() - start
    cpu_seconds = time.process_time() - cpu_start
    print(json.dumps({"threads": a.threads, "seconds": seconds, "cpu_seconds": cpu_seconds, "val_loss": estimates[-1]["val"],
                      "train_loss": estimates[-1]["train"], "estimates": estimates}))


if __name__ == "__main__":
    main()
