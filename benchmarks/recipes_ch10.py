"""第 10 章的两种训练方案，供 ``python benchmarks/bench.py --part2 10`` 在本书的划分上比较。

- ``lecture``：原课程第 3 部分的批归一化 MLP：12,097 个参数（C 27×10、W1 30×200 按
  ``(5/3)/sqrt(30)`` 初始化、没有 b1、BatchNorm 的 bngain/bnbias、W2 200×27 乘 0.01、b2 为 0），
  训练时用这一批的均值与（无偏）标准差标准化，运行统计量按 0.999/0.001 更新；批大小 32 训练
  200,000 步，学习率前 100,000 步 0.1、之后 0.01；开发集用运行统计量评估。上下文 3 个字符。
- ``chapter``：第 10 章“本章最好的模型”（与 ``notebooks/10_batchnorm.ipynb`` 相同）：上下文 4 个字符，
  嵌入 16 维，``Linear``（无偏置，增益 5/3）→ ``BatchNorm1d`` → ``Tanh`` → ``Linear``（权重乘 0.1），
  批大小 256 训练 20,000 步，学习率 0.2，一半之后 0.02。

``BLOCK_SIZE = 4``：运行器按 4 个字符构造上下文；原课程的方案只用每行的后 3 列（``X[:, 1:]``），
它正好就是 3 个字符的上下文（同一个名字、同一个位置），所以两种方案用的是同一批样本。
两个函数都从头训练，只计训练循环的时间，返回 ``{"dev", "seconds", "params"}``。
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

import mm_utils

BLOCK_SIZE = 4

#: 第 10 章最好的模型的设置（笔记本里的同名设置必须与它一致）。
CHAPTER = dict(n_embd=16, n_hidden=300, steps=20_000, batch_size=256, lr0=0.2, decay_at=10_000)


def lecture(data: dict, g: torch.Generator) -> dict:
    Xtr, Xdev = data["Xtr"][:, 1:], data["Xdev"][:, 1:]  # 3 个字符的上下文
    Ytr, Ydev = data["Ytr"], data["Ydev"]
    n_embd, n_hidden = 10, 200
    C = torch.randn((27, n_embd), generator=g)
    W1 = torch.randn((3 * n_embd, n_hidden), generator=g) * (5 / 3) / (3 * n_embd) ** 0.5
    W2 = torch.randn((n_hidden, 27), generator=g) * 0.01
    b2 = torch.randn(27, generator=g) * 0
    bngain, bnbias = torch.ones((1, n_hidden)), torch.zeros((1, n_hidden))
    bnmean_running, bnstd_running = torch.zeros((1, n_hidden)), torch.ones((1, n_hidden))
    parameters = [C, W1, W2, b2, bngain, bnbias]
    for p in parameters:
        p.requires_grad = True

    def loss_fn(Xb, Yb):
        hpreact = C[Xb].view(Xb.shape[0], -1) @ W1
        bnmeani, bnstdi = hpreact.mean(0, keepdim=True), hpreact.std(0, keepdim=True)
        with torch.no_grad():
            bnmean_running.mul_(0.999).add_(0.001 * bnmeani)
            bnstd_running.mul_(0.999).add_(0.001 * bnstdi)
        h = torch.tanh(bngain * (hpreact - bnmeani) / bnstdi + bnbias)
        return F.cross_entropy(h @ W2 + b2, Yb)

    def forward_eval(X):
        hpreact = C[X].view(X.shape[0], -1) @ W1
        h = torch.tanh(bngain * (hpreact - bnmean_running) / bnstd_running + bnbias)
        return h @ W2 + b2

    t0 = time.perf_counter()
    mm_utils.train_minibatch(loss_fn, parameters, Xtr, Ytr, steps=200_000, batch_size=32,
                             lr=lambda i: 0.1 if i < 100_000 else 0.01, g=g)
    seconds = time.perf_counter() - t0
    dev = mm_utils.evaluate_loss(forward_eval, Xdev, Ydev)
    return {"dev": dev, "seconds": seconds, "params": sum(p.nelement() for p in parameters)}


def chapter(data: dict, g: torch.Generator) -> dict:
    cfg = CHAPTER
    C = torch.randn((27, cfg["n_embd"]), generator=g)
    layers = [mm_utils.Linear(BLOCK_SIZE * cfg["n_embd"], cfg["n_hidden"], bias=False, g=g),
              mm_utils.BatchNorm1d(cfg["n_hidden"]), mm_utils.Tanh(), mm_utils.Linear(cfg["n_hidden"], 27, g=g)]
    with torch.no_grad():
        layers[0].weight *= 5 / 3
        layers[-1].weight *= 0.1
    parameters = [C] + [p for layer in layers for p in layer.parameters()]
    for p in parameters:
        p.requires_grad = True

    def model(X):
        x = C[X].view(X.shape[0], -1)
        for layer in layers:
            x = layer(x)
        return x

    t0 = time.perf_counter()
    mm_utils.train_minibatch(lambda Xb, Yb: F.cross_entropy(model(Xb), Yb), parameters, data["Xtr"], data["Ytr"],
                             steps=cfg["steps"], batch_size=cfg["batch_size"],
                             lr=lambda i: cfg["lr0"] if i < cfg["decay_at"] else cfg["lr0"] / 10, g=g)
    seconds = time.perf_counter() - t0
    layers[1].training = False
    dev = mm_utils.evaluate_loss(model, data["Xdev"], data["Ydev"])
    return {"dev": dev, "seconds": seconds, "params": sum(p.nelement() for p in parameters)}
