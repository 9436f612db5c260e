"""第 12 章的两个训练方案（供 benchmarks/bench_part2.py 使用）：原课程的方案与本章的方案。

两者训练同一个 WaveNet 式层级模型（8 字符上下文，嵌入 24 维，每级 128 个隐藏单元，76,579 个参数），
只是训练方案不同：

- lecture：原课程 part 5 的方案，每批 32 个样本，200,000 步，学习率 0.1，150,000 步后降为 0.01；
- chapter：本章的方案（notebooks/12_wavenet.ipynb），每批 256 个样本，18,000 步，学习率从 0.3 沿余弦曲线降到 0.003。

返回 {"dev": 开发集损失, "seconds": 只计训练的秒数, "params": 参数个数}。
"""

from __future__ import annotations

import math
import os
import time

import torch
import torch.nn.functional as F

import mm_utils

BLOCK_SIZE = 8
# 原课程方案的步数。在 2 核机器上它要十来分钟；MM_CH12_LECTURE_STEPS=20000 只跑前 20,000 步，
# 用来推算整个方案的时间（此时打印的 dev 只是 20,000 步时的损失，不是原课程方案的结果）。
LECTURE_STEPS = int(os.environ.get("MM_CH12_LECTURE_STEPS", "200000"))


def make_hierarchical(n_embd: int, n_hidden: int, g: torch.Generator) -> mm_utils.Sequential:
    """Embedding → 3 × (FlattenConsecutive(2), Linear 无偏置, BatchNorm1d, Tanh) → Linear；输出层权重乘 0.1。"""
    layers: list = [mm_utils.Embedding(27, n_embd, g=g)]
    fan_in = n_embd
    for _ in range(3):
        layers += [
            mm_utils.FlattenConsecutive(2),
            mm_utils.Linear(2 * fan_in, n_hidden, bias=False, g=g),
            mm_utils.BatchNorm1d(n_hidden),
            mm_utils.Tanh(),
        ]
        fan_in = n_hidden
    layers.append(mm_utils.Linear(n_hidden, 27, g=g))
    with torch.no_grad():
        layers[-1].weight *= 0.1
    model = mm_utils.Sequential(layers)
    for p in model.parameters():
        p.requires_grad = True
    return model


def _run(data: dict, g: torch.Generator, *, steps: int, batch_size: int, lr) -> dict:
    model = make_hierarchical(24, 128, g)
    t0 = time.perf_counter()
    mm_utils.train_minibatch(
        lambda Xb, Yb: F.cross_entropy(model(Xb), Yb),
        model.parameters(),
        data["Xtr"],
        data["Ytr"],
        steps=steps,
        batch_size=batch_size,
        lr=lr,
        g=g,
    )
    seconds = time.perf_counter() - t0
    for layer in model.layers:
        if isinstance(layer, mm_utils.BatchNorm1d):
            layer.training = False
    dev = mm_utils.evaluate_loss(model, data["Xdev"], data["Ydev"])
    return {"dev": dev, "seconds": seconds, "params": sum(p.numel() for p in model.parameters())}


def lecture(data: dict, g: torch.Generator) -> dict:
    """原课程的方案：batch 32，200,000 步，学习率 0.1，第 150,000 步起降为 0.01。"""
    return _run(data, g, steps=LECTURE_STEPS, batch_size=32, lr=lambda i: 0.1 if i < 150_000 else 0.01)


def chapter(data: dict, g: torch.Generator) -> dict:
    """本章的方案：batch 256，18,000 步，学习率 0.3 → 0.003（余弦）。"""
    steps = 18_000
    return _run(
        data,
        g,
        steps=steps,
        batch_size=256,
        lr=lambda i: 0.003 + 0.5 * (0.3 - 0.003) * (1 + math.cos(math.pi * i / steps)),
    )
