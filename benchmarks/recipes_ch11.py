"""Chapter 11 recipes for benchmarks/bench_part2.py: the BatchNorm MLP trained with manual gradients only.

The network is chapter 11's (the lecture's part 4): block_size 3, n_embd 10, n_hidden 64, C, W1, b1,
bngain, bnbias, W2, b2 (4,137 parameters), batch-norm with the biased batch variance. The backward pass
is the chapter's ``forward_backward`` (cross-entropy as softmax - one_hot, the one-formula BatchNorm
backward, the embedding gradient by ``index_add_``); no ``loss.backward()`` anywhere. Dev loss uses
BatchNorm statistics measured once over the whole training set after training, as in the chapter.

    lecture: 200,000 steps of batch 32, lr 0.1, then 0.01 for the second half (part 4's recipe)
    chapter: 40,000 steps of batch 128, lr 0.4, then 0.04 for the second half (the chapter's)
"""

from __future__ import annotations

import time

import torch
import torch.nn.functional as F

BLOCK_SIZE = 3
N_EMBD = 10
N_HIDDEN = 64
VOCAB_SIZE = 27


def init_params(g: torch.Generator) -> list[torch.Tensor]:
    fan_in = N_EMBD * BLOCK_SIZE
    C = torch.randn((VOCAB_SIZE, N_EMBD), generator=g)
    W1 = torch.randn((fan_in, N_HIDDEN), generator=g) * (5 / 3) / fan_in**0.5
    b1 = torch.randn(N_HIDDEN, generator=g) * 0.1
    W2 = torch.randn((N_HIDDEN, VOCAB_SIZE), generator=g) * 0.1
    b2 = torch.randn(VOCAB_SIZE, generator=g) * 0.1
    bngain = 1.0 + 0.1 * torch.randn((1, N_HIDDEN), generator=g)
    bnbias = 0.1 * torch.randn((1, N_HIDDEN), generator=g)
    return [C, W1, b1, W2, b2, bngain, bnbias]


def forward_backward(parameters: list[torch.Tensor], Xb: torch.Tensor, Yb: torch.Tensor):
    C, W1, b1, W2, b2, bngain, bnbias = parameters
    n = Xb.shape[0]
    emb = C[Xb]
    embcat = emb.view(n, -1)
    hprebn = embcat @ W1 + b1
    bnmean = hprebn.mean(0, keepdim=True)
    bnvar_inv = ((hprebn - bnmean) ** 2).mean(0, keepdim=True).add(1e-5) ** -0.5
    bnraw = (hprebn - bnmean) * bnvar_inv
    h = torch.tanh(bngain * bnraw + bnbias)
    logits = h @ W2 + b2
    loss = F.cross_entropy(logits, Yb)
    dlogits = (F.softmax(logits, 1) - F.one_hot(Yb, VOCAB_SIZE)) / n
    dh = dlogits @ W2.T
    dhpreact = (1.0 - h**2) * dh
    dhprebn = bngain * bnvar_inv / n * (n * dhpreact - dhpreact.sum(0) - bnraw * (dhpreact * bnraw).sum(0))
    demb = (dhprebn @ W1.T).view(emb.shape)
    dC = torch.zeros_like(C).index_add_(0, Xb.view(-1), demb.view(-1, N_EMBD))
    grads = [dC, embcat.T @ dhprebn, dhprebn.sum(0), h.T @ dlogits, dlogits.sum(0),
             (bnraw * dhpreact).sum(0, keepdim=True), dhpreact.sum(0, keepdim=True)]
    return loss, grads


@torch.no_grad()
def dev_loss(parameters: list[torch.Tensor], data: dict) -> float:
    C, W1, b1, W2, b2, bngain, bnbias = parameters
    Xtr, Xdev = data["Xtr"], data["Xdev"]
    hpre_tr = C[Xtr].view(Xtr.shape[0], -1) @ W1 + b1
    bnmean, bnvar = hpre_tr.mean(0, keepdim=True), hpre_tr.var(0, keepdim=True, unbiased=False)
    hprebn = C[Xdev].view(Xdev.shape[0], -1) @ W1 + b1
    h = torch.tanh(bngain * (hprebn - bnmean) / (bnvar + 1e-5).sqrt() + bnbias)
    return F.cross_entropy(h @ W2 + b2, data["Ydev"]).item()


def _train(data: dict, g: torch.Generator, steps: int, batch_size: int, lr0: float, lr1: float) -> dict:
    parameters = init_params(g)
    Xtr, Ytr = data["Xtr"], data["Ytr"]
    t0 = time.perf_counter()
    for k in range(steps):
        ix = torch.randint(0, Xtr.shape[0], (batch_size,), generator=g)
        _, grads = forward_backward(parameters, Xtr[ix], Ytr[ix])
        lr = lr0 if k < steps // 2 else lr1
        for p, grad in zip(parameters, grads):
            p -= lr * grad
    seconds = time.perf_counter() - t0
    return {"dev": dev_loss(parameters, data), "seconds": seconds,
            "params": sum(p.nelement() for p in parameters)}


def lecture(data: dict, g: torch.Generator) -> dict:
    return _train(data, g, steps=200_000, batch_size=32, lr0=0.1, lr1=0.01)


def chapter(data: dict, g: torch.Generator) -> dict:
    return _train(data, g, steps=40_000, batch_size=128, lr0=0.4, lr1=0.04)
