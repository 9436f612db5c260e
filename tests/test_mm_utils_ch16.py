"""Chapter 16's shared code: CausalSelfAttention (multi-head causal self-attention)."""

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mm_utils

SEED = 2147483647


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def attention(n_embd=32, n_head=4, block_size=8, dropout=0.0):
    torch.manual_seed(0)  # nn.Linear's default init draws from the global generator
    return mm_utils.CausalSelfAttention(n_embd, n_head, block_size, dropout).eval()


def test_shape_and_weights_kept_for_plotting():
    attn = attention()
    x = torch.randn((3, 5, 32), generator=gen())  # T = 5 < block_size = 8
    y = attn(x)
    assert y.shape == x.shape
    assert attn.att.shape == (3, 4, 5, 5)
    assert torch.allclose(attn.att.sum(-1), torch.ones(3, 4, 5))
    assert (attn.att.triu(diagonal=1) == 0).all()  # no weight on the future
    assert not attn.att.requires_grad


def test_matches_scaled_dot_product_attention_and_multihead_attention():
    attn = attention()
    B, T, C, nh = 2, 8, 32, 4
    x = torch.randn((B, T, C), generator=gen())
    q, k, v = (z.view(B, T, nh, C // nh).transpose(1, 2) for z in attn.qkv(x).split(C, dim=2))
    y = F.scaled_dot_product_attention(q, k, v, is_causal=True).transpose(1, 2).reshape(B, T, C)
    assert (attn(x) - attn.proj(y)).abs().max() < 1e-5
    mha = nn.MultiheadAttention(C, nh, batch_first=True)
    with torch.no_grad():
        mha.in_proj_weight.copy_(attn.qkv.weight)
        mha.in_proj_bias.copy_(attn.qkv.bias)
        mha.out_proj.weight.copy_(attn.proj.weight)
        mha.out_proj.bias.copy_(attn.proj.bias)
    future = torch.triu(torch.ones(T, T, dtype=torch.bool), diagonal=1)
    y_mha, _ = mha(x, x, x, attn_mask=future, need_weights=False)
    assert (attn(x) - y_mha).abs().max() < 1e-5


def test_causal_a_later_position_does_not_change_earlier_outputs():
    attn = attention()
    x = torch.randn((2, 8, 32), generator=gen())
    y = attn(x)
    for s in range(1, 8):
        x2 = x.clone()
        x2[:, s] += 1.0
        y2 = attn(x2)
        assert (y2[:, :s] - y[:, :s]).abs().max() < 1e-6
        assert (y2[:, s:] - y[:, s:]).abs().max() > 1e-3


def test_scale_is_by_head_size():
    # one head of 8 dimensions inside a model of width 32: the scores are divided by sqrt(8), not sqrt(32)
    attn = attention(n_embd=32, n_head=4)
    x = torch.randn((1, 6, 32), generator=gen())
    attn(x)
    q, k, _ = (z.view(1, 6, 4, 8).transpose(1, 2) for z in attn.qkv(x).split(32, dim=2))
    scores = (q @ k.transpose(-2, -1) / 8**0.5).masked_fill(torch.ones(6, 6).triu(1).bool(), float("-inf"))
    assert (attn.att - scores.softmax(-1)).abs().max() < 1e-6


def test_dropout_only_in_training_mode():
    attn = attention(dropout=0.5)
    x = torch.randn((2, 8, 32), generator=gen())
    assert torch.equal(attn(x), attn(x))  # eval: deterministic
    attn.train()
    torch.manual_seed(1)
    assert not torch.equal(attn(x), attn.eval()(x))


def test_rejects_a_width_that_the_heads_do_not_divide():
    with pytest.raises(ValueError, match="整除"):
        mm_utils.CausalSelfAttention(30, 4, 8)
