"""Reference implementations that tests and benchmarks/bench.py share.

Each one is the plain code a chapter shows the reader, kept in one place so that every check
compares against the same thing instead of its own copy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def one_hot_loss(W: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor, reg: float = 0.0) -> torch.Tensor:
    """Chapter 7's forward pass as the reader writes it: one-hot -> logits -> exp -> row-normalize ->
    mean of -log(probability of the label), plus chapter 8's ``reg * (W**2).mean()``."""
    xenc = F.one_hot(xs, num_classes=W.shape[0]).to(W.dtype)  # (num, V)
    logits = xenc @ W  # (num, V) @ (V, V) -> (num, V)
    counts = logits.exp()
    probs = counts / counts.sum(1, keepdim=True)
    return -probs[torch.arange(xs.nelement()), ys].log().mean() + reg * (W**2).mean()


def loop_count(words: list[str], stoi: dict[str, int], vocab_size: int = 27) -> torch.Tensor:
    """Chapter 3's counting loop, ``N[ix1, ix2] += 1`` over every bigram, on Python lists (int32 result)."""
    rows = [[0] * vocab_size for _ in range(vocab_size)]
    for w in words:
        chs = ["."] + list(w) + ["."]
        for c1, c2 in zip(chs, chs[1:]):
            rows[stoi[c1]][stoi[c2]] += 1
    return torch.tensor(rows, dtype=torch.int32)
