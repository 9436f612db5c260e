"""Chapter 12's layers in mm_utils: Embedding, FlattenConsecutive, Sequential against torch.nn or a
hand-built equivalent, and BatchNorm1d on 3-D input (statistics over dims 0 and 1, like
torch.nn.BatchNorm1d on the channels-in-the-middle layout)."""

from __future__ import annotations

import pytest
import torch
import torch.nn as nn

import mm_utils

SEED = 2147483647


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def test_embedding_matches_torch_and_is_a_row_lookup():
    emb = mm_utils.Embedding(27, 10, g=gen())
    assert emb.weight.shape == (27, 10)
    assert torch.equal(emb.weight, torch.randn((27, 10), generator=gen()))  # randn init, same seed
    ref = nn.Embedding(27, 10)
    with torch.no_grad():
        ref.weight.copy_(emb.weight)
    IX = torch.randint(0, 27, (5, 8), generator=gen())
    out = emb(IX)
    assert out.shape == (5, 8, 10)
    assert torch.equal(out, ref(IX))
    assert emb.out is out
    assert emb.parameters() == [emb.weight]


def test_embedding_gradient_matches_torch():
    emb = mm_utils.Embedding(27, 4, g=gen())
    emb.weight.requires_grad = True
    ref = nn.Embedding(27, 4)
    with torch.no_grad():
        ref.weight.copy_(emb.weight)
    IX = torch.tensor([[1, 1, 2], [0, 1, 26]])  # repeated indices accumulate
    emb(IX).pow(2).sum().backward()
    ref(IX).pow(2).sum().backward()
    assert torch.allclose(emb.weight.grad, ref.weight.grad)
    assert emb.weight.grad[3].abs().sum() == 0  # unused row gets no gradient


def test_flatten_consecutive_pairs_equal_hand_built_concatenation():
    x = torch.randn(4, 8, 10, generator=gen())
    out = mm_utils.FlattenConsecutive(2)(x)
    assert out.shape == (4, 4, 20)
    by_hand = torch.cat([x[:, 0::2, :], x[:, 1::2, :]], dim=2)
    assert torch.equal(out, by_hand)
    # pair k of sample b is [x[b, 2k], x[b, 2k + 1]]
    assert torch.equal(out[1, 2], torch.cat([x[1, 4], x[1, 5]]))


def test_flatten_consecutive_whole_sequence_equals_nn_flatten_and_squeezes():
    x = torch.randn(3, 8, 5, generator=gen())
    out = mm_utils.FlattenConsecutive(8)(x)
    assert out.shape == (3, 40)
    assert torch.equal(out, nn.Flatten()(x))
    four = mm_utils.FlattenConsecutive(4)(x)
    assert four.shape == (3, 2, 20)
    assert four.data_ptr() == x.data_ptr()  # a view, no copy
    assert mm_utils.FlattenConsecutive(2).parameters() == []


def test_flatten_consecutive_rejects_a_length_it_cannot_split():
    with pytest.raises(ValueError, match="整除"):
        mm_utils.FlattenConsecutive(3)(torch.zeros(2, 8, 4))


def _flat_pair(g: torch.Generator):
    ours = mm_utils.Sequential(
        [
            mm_utils.Embedding(27, 10, g=g),
            mm_utils.FlattenConsecutive(8),
            mm_utils.Linear(80, 50, bias=False, g=g),
            mm_utils.BatchNorm1d(50),
            mm_utils.Tanh(),
            mm_utils.Linear(50, 27, g=g),
        ]
    )
    theirs = nn.Sequential(
        nn.Embedding(27, 10),
        nn.Flatten(),
        nn.Linear(80, 50, bias=False),
        nn.BatchNorm1d(50),
        nn.Tanh(),
        nn.Linear(50, 27),
    )
    with torch.no_grad():
        for p, q in zip(ours.parameters(), theirs.parameters(), strict=True):
            q.copy_(p.T if p.shape != q.shape else p)
    return ours, theirs


def test_sequential_matches_nn_sequential_in_train_and_eval_mode():
    ours, theirs = _flat_pair(gen())
    X = torch.randint(0, 27, (32, 8), generator=gen())
    assert torch.allclose(ours(X), theirs(X), atol=1e-5)  # training mode: batch statistics
    bn = ours.layers[3]
    assert torch.allclose(bn.running_mean, theirs[3].running_mean, atol=1e-6)
    assert torch.allclose(bn.running_var, theirs[3].running_var, atol=1e-6)
    bn.training = False
    theirs.eval()
    X2 = torch.randint(0, 27, (7, 8), generator=gen())
    assert torch.allclose(ours(X2), theirs(X2), atol=1e-5)
    assert ours.out.shape == (7, 27)


def test_sequential_collects_parameters_in_layer_order():
    ours, theirs = _flat_pair(gen())
    params = ours.parameters()
    expected = [p for layer in ours.layers for p in layer.parameters()]
    assert len(params) == len(expected) == 6
    assert all(a is b for a, b in zip(params, expected, strict=True))
    assert sum(p.numel() for p in params) == sum(p.numel() for p in theirs.parameters())


def test_batchnorm_on_3d_input_reduces_over_dims_0_and_1():
    x = torch.randn(32, 4, 6, generator=gen()) * 3 + torch.arange(4.0).view(1, 4, 1)  # positions differ
    bn = mm_utils.BatchNorm1d(6)
    out = bn(x)
    assert out.shape == (32, 4, 6)
    flat = x.reshape(-1, 6)  # every (sample, position) is one example of each channel
    expected = (x - flat.mean(0)) / torch.sqrt(flat.var(0, unbiased=False) + bn.eps)
    assert torch.allclose(out, expected, atol=1e-5)
    assert bn.running_mean.shape == (6,) and bn.running_var.shape == (6,)
    assert torch.allclose(bn.running_mean, 0.1 * flat.mean(0), atol=1e-6)
    assert torch.allclose(bn.running_var, 0.9 + 0.1 * flat.var(0, unbiased=True), atol=1e-5)
    # per channel over all samples and positions: mean 0, (biased) variance 1
    assert torch.allclose(out.mean((0, 1)), torch.zeros(6), atol=1e-5)
    # ... but not per position: reducing over dim 0 only would have zeroed each position's mean
    assert out.mean(0).abs().max() > 0.1


def test_batchnorm_3d_equals_torch_on_the_channels_in_the_middle_layout():
    x = torch.randn(16, 4, 6, generator=gen())
    bn, ref = mm_utils.BatchNorm1d(6), nn.BatchNorm1d(6)
    for _ in range(3):  # a few updates of the running statistics
        out = bn(x)
        out_ref = ref(x.transpose(1, 2)).transpose(1, 2)  # torch wants (N, C, L)
        assert torch.allclose(out, out_ref, atol=1e-5)
        x = x * 1.5 + 0.3
    assert torch.allclose(bn.running_mean, ref.running_mean, atol=1e-6)
    assert torch.allclose(bn.running_var, ref.running_var, atol=1e-5)
    bn.training = False
    ref.eval()
    assert torch.allclose(bn(x), ref(x.transpose(1, 2)).transpose(1, 2), atol=1e-5)


# ---------------------------------------------------------------- train() / eval()


def _hierarchical(g: torch.Generator) -> mm_utils.Sequential:
    """A small chapter-12 model on 4 characters: two BatchNorm layers (3-D and 2-D input), one inside a nested
    Sequential."""
    inner = mm_utils.Sequential([mm_utils.FlattenConsecutive(2), mm_utils.Linear(12, 6, bias=False, g=g),
                                 mm_utils.BatchNorm1d(6), mm_utils.Tanh()])
    return mm_utils.Sequential([mm_utils.Embedding(27, 4, g=g), mm_utils.FlattenConsecutive(2),
                                mm_utils.Linear(8, 6, bias=False, g=g), mm_utils.BatchNorm1d(6),
                                mm_utils.Tanh(), inner, mm_utils.Linear(6, 27, g=g)])


def _norms(model):
    return [layer for layer in model.layers if isinstance(layer, mm_utils.BatchNorm1d)] + [
        layer for layer in model.layers[5].layers if isinstance(layer, mm_utils.BatchNorm1d)]


def test_train_and_eval_switch_every_batchnorm_and_return_the_model():
    model = _hierarchical(gen())
    assert model.training and all(bn.training for bn in _norms(model))
    assert model.eval() is model
    assert not model.training and not any(bn.training for bn in _norms(model))
    assert model.train() is model and all(bn.training for bn in _norms(model))
    assert model.train(False) is model and not model.training
    bn = mm_utils.BatchNorm1d(3)
    assert bn.eval() is bn and not bn.training
    assert bn.train() is bn and bn.training


def test_evaluating_a_model_left_in_training_mode_keeps_its_running_statistics():
    """evaluate_loss and sample_model switch to inference mode for the call: the dev data does not
    overwrite the running statistics, the result is the inference-mode result, and the model is back
    in training mode afterwards."""
    g = gen()
    model = _hierarchical(g)
    X = torch.randint(0, 27, (64, 4), generator=g)
    Y = torch.randint(0, 27, (64,), generator=g)
    with torch.no_grad():
        for _ in range(3):
            model(torch.randint(0, 27, (32, 4), generator=g))  # training mode: running stats move
    stats = [(bn.running_mean.clone(), bn.running_var.clone()) for bn in _norms(model)]
    assert model.training
    loss = mm_utils.evaluate_loss(model, X, Y)
    names = mm_utils.sample_model(model, {i: "abcdefghijklmnopqrstuvwxyz"[i - 1] for i in range(1, 27)},
                                  5, gen(), 4, max_len=50)
    assert len(names) == 5
    for bn, (mean, var) in zip(_norms(model), stats, strict=True):
        assert torch.equal(bn.running_mean, mean) and torch.equal(bn.running_var, var)
    assert model.training and all(bn.training for bn in _norms(model))
    model.eval()
    with torch.no_grad():
        expected = torch.nn.functional.cross_entropy(model(X), Y).item()
    assert loss == expected
    model.train()
    with torch.no_grad():
        in_training_mode = torch.nn.functional.cross_entropy(model(X), Y).item()
    assert in_training_mode != loss  # batch statistics would have given another number


def test_evaluation_restores_each_layer_mode_exactly_even_after_an_error():
    model = _hierarchical(gen())
    first, second = _norms(model)
    first.training, second.training = False, True  # mixed, as a caller may leave them
    mm_utils.evaluate_loss(model, torch.zeros((4, 4), dtype=torch.int64), torch.zeros(4, dtype=torch.int64))
    assert (first.training, second.training) == (False, True)

    def broken(X):
        assert not first.training and not second.training  # inference mode inside the call
        raise KeyError("boom")

    broken.layers = model.layers
    with pytest.raises(KeyError):
        mm_utils.evaluate_loss(broken, torch.zeros((4, 4), dtype=torch.int64), torch.zeros(4, dtype=torch.int64))
    assert (first.training, second.training) == (False, True)


def test_a_plain_forward_function_is_called_as_it_is():
    """Chapters 9-10 pass functions; their layers' flags are theirs to set (chapter 10 flips the flag)."""
    bn = mm_utils.BatchNorm1d(27)
    calls = []

    def forward(X):
        calls.append(bn.training)
        return bn(torch.zeros((X.shape[0], 27)) + X[:, :1].float())

    X = torch.arange(8).view(8, 1)
    mm_utils.evaluate_loss(forward, X, torch.zeros(8, dtype=torch.int64))
    assert calls == [True] and bn.training


def test_cosine_lr_is_the_chapter_12_schedule():
    from support.chapters import load

    chapter = load("12_wavenet", "cosine_lr")["cosine_lr"](0.3, 0.003, 1000)
    lr = mm_utils.cosine_lr(0.3, 0.003, 1000)
    assert all(lr(i) == chapter(i) for i in range(0, 1001, 7))
    assert lr(0) == 0.3 and abs(lr(500) - 0.1515) < 1e-12 and abs(lr(1000) - 0.003) < 1e-12
