"""第 9 章的两种训练方案，供 ``python benchmarks/bench.py --part2 09`` 在本书的划分上比较。

- ``lecture``：原课程的方案：11,897 个参数（C 27×10、W1 30×200、b1、W2 200×27、b2，全部
  ``torch.randn`` 初始化），批大小 32 训练 200,000 步，学习率前 100,000 步 0.1、之后 0.01。
- ``chapter``：第 9 章最终模型的方案（与笔记本 ``notebooks/09_mlp.ipynb`` 的“最终模型”一节相同）：
  输出层按练习 2 缩小 100 倍初始化，嵌入 16 维、隐藏层 300，批大小 256 训练 20,000 步，学习率 0.2
  （学习率扫描给出的范围内），训练到一半时衰减为十分之一。

两个函数都从头训练，只计训练循环的时间，返回 ``{"dev", "seconds", "params"}``。
"""

from __future__ import annotations

import time

import torch

import mm_utils

BLOCK_SIZE = 3


def _mlp(block_size: int, n_embd: int, n_hidden: int, g: torch.Generator, out_scale: float = 1.0):
    C = torch.randn((27, n_embd), generator=g)
    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g)
    b1 = torch.randn(n_hidden, generator=g)
    W2 = torch.randn((n_hidden, 27), generator=g) * out_scale
    b2 = torch.randn(27, generator=g) * out_scale
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True

    def forward(X: torch.Tensor) -> torch.Tensor:
        emb = C[X]  # (num, block_size, n_embd)
        h = torch.tanh(emb.view(emb.shape[0], -1) @ W1 + b1)
        return h @ W2 + b2

    return parameters, forward


def _train(data: dict, g: torch.Generator, *, n_embd, n_hidden, out_scale, steps, batch_size, lr0, decay_at) -> dict:
    parameters, forward = _mlp(BLOCK_SIZE, n_embd, n_hidden, g, out_scale)

    def loss_fn(Xb, Yb):
        return torch.nn.functional.cross_entropy(forward(Xb), Yb)

    t0 = time.perf_counter()
    mm_utils.train_minibatch(loss_fn, parameters, data["Xtr"], data["Ytr"], steps=steps, batch_size=batch_size,
                             lr=lambda i: lr0 if i < decay_at else lr0 / 10, g=g)
    seconds = time.perf_counter() - t0
    dev = mm_utils.evaluate_loss(forward, data["Xdev"], data["Ydev"])
    return {"dev": dev, "seconds": seconds, "params": sum(p.nelement() for p in parameters)}


def lecture(data: dict, g: torch.Generator) -> dict:
    return _train(data, g, n_embd=10, n_hidden=200, out_scale=1.0, steps=200_000, batch_size=32,
                  lr0=0.1, decay_at=100_000)


def chapter(data: dict, g: torch.Generator) -> dict:
    return _train(data, g, **CHAPTER)


#: 第 9 章最终模型的设置（笔记本里的同名设置必须与它一致）。
CHAPTER = dict(n_embd=16, n_hidden=300, out_scale=0.01, steps=20_000, batch_size=256, lr0=0.2, decay_at=10_000)
