"""Chapters 7 and 8's shared code: bigram_net_loss (the net's loss) and train_bigram_net (full-batch gradient
descent on every example).

The reference is chapter 7's form as the text shows it (one-hot -> logits -> exp -> row-normalize -> mean of
-log of the label's probability), taken from support/reference.py, which tests and benchmarks share.
"""

import math

import pytest
import torch

import mm_utils
from support.reference import one_hot_loss as manual_loss


@pytest.fixture(scope="module")
def small_corpus(names_path):
    """The first 50 names (a small piece of the real data) and the vocabulary of the whole data set."""
    words = mm_utils.load_words(names_path)
    stoi, itos = mm_utils.build_vocab(words)
    xs, ys = mm_utils.bigram_indices(words[:50], stoi)
    return xs, ys


def toy_pairs():
    g = torch.Generator().manual_seed(0)
    xs = torch.randint(0, 5, (40,), generator=g)
    ys = torch.randint(0, 5, (40,), generator=g)
    return xs, ys


# ---------------------------------------------------------------- bigram_net_loss


@pytest.mark.parametrize("reg", [0.0, 0.01, 1.0])
def test_loss_matches_manual_one_hot_softmax_nll(reg):
    xs, ys = toy_pairs()
    W = torch.randn((5, 5), generator=torch.Generator().manual_seed(1))
    got = mm_utils.bigram_net_loss(W, xs, ys, reg)
    assert got.dim() == 0
    assert torch.isclose(got, manual_loss(W, xs, ys, reg), atol=1e-6)


def test_loss_gradient_matches_manual():
    xs, ys = toy_pairs()
    W = torch.randn((5, 5), generator=torch.Generator().manual_seed(2), requires_grad=True)
    mm_utils.bigram_net_loss(W, xs, ys, 0.1).backward()
    grad_lib = W.grad.clone()
    W.grad = None
    manual_loss(W, xs, ys, 0.1).backward()
    assert torch.allclose(grad_lib, W.grad, atol=1e-6)


def test_loss_hand_computed_two_examples():
    # V = 2, W = [[0, log 3], [0, 0]]: softmax of row 0 = (1/4, 3/4), of row 1 = (1/2, 1/2)
    W = torch.tensor([[0.0, math.log(3)], [0.0, 0.0]])
    xs, ys = torch.tensor([0, 1]), torch.tensor([1, 0])
    expected = -(math.log(3 / 4) + math.log(1 / 2)) / 2
    assert math.isclose(mm_utils.bigram_net_loss(W, xs, ys).item(), expected, rel_tol=1e-6)
    # regularization term: mean(W**2) = (log 3)^2 / 4
    with_reg = mm_utils.bigram_net_loss(W, xs, ys, reg=2.0).item()
    assert math.isclose(with_reg, expected + 2.0 * math.log(3) ** 2 / 4, rel_tol=1e-6)


@pytest.mark.parametrize("V", [2, 5, 27])
def test_zero_weights_give_log_v(V):
    g = torch.Generator().manual_seed(V)
    xs = torch.randint(0, V, (30,), generator=g)
    ys = torch.randint(0, V, (30,), generator=g)
    W = torch.zeros((V, V))
    assert math.isclose(mm_utils.bigram_net_loss(W, xs, ys).item(), math.log(V), rel_tol=1e-6)
    assert math.isclose(mm_utils.bigram_net_loss(W, xs, ys, reg=5.0).item(), math.log(V), rel_tol=1e-6)


def test_loss_does_not_modify_inputs():
    xs, ys = toy_pairs()
    W = torch.randn((5, 5), generator=torch.Generator().manual_seed(3))
    before = (W.clone(), xs.clone(), ys.clone())
    mm_utils.bigram_net_loss(W, xs, ys, 0.5)
    assert torch.equal(W, before[0]) and torch.equal(xs, before[1]) and torch.equal(ys, before[2])


# Only the two mistakes a reader really makes (issue 9 §5): no examples, indices from another vocabulary.
@pytest.mark.parametrize(
    "xs, ys, match",
    [
        (torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64), "为空"),
        (torch.tensor([0, 5]), torch.tensor([0, 1]), "0..4"),  # indices of another vocabulary
        (torch.tensor([0, 1]), torch.tensor([-1, 1]), "0..4"),
    ],
)
def test_loss_bad_indices(xs, ys, match):
    with pytest.raises(ValueError, match=match):
        mm_utils.bigram_net_loss(torch.zeros(5, 5), xs, ys)


def test_mismatched_lengths_still_fail_loudly():
    # not checked separately: torch's own error already names the cause
    with pytest.raises(ValueError, match="batch_size"):
        mm_utils.bigram_net_loss(torch.zeros(5, 5), torch.tensor([0, 1, 2]), torch.tensor([0, 1]))


# ---------------------------------------------------------------- train_bigram_net


def test_training_lowers_the_loss(small_corpus):
    xs, ys = small_corpus
    g = torch.Generator().manual_seed(2147483647)
    W, losses = mm_utils.train_bigram_net(xs, ys, steps=50, lr=10, g=g)
    assert len(losses) == 50 and all(isinstance(v, float) for v in losses)
    assert all(a > b for a, b in zip(losses, losses[1:]))  # every step goes down
    assert mm_utils.bigram_net_loss(W, xs, ys).item() < losses[0] - 1.0
    assert not W.requires_grad and W.shape == (27, 27)


def test_history_starts_at_the_per_example_loss(small_corpus):
    xs, ys = small_corpus
    W0 = torch.randn((27, 27), generator=torch.Generator().manual_seed(5))
    for reg in [0.0, 0.3]:
        _, losses = mm_utils.train_bigram_net(xs, ys, steps=3, lr=1.0, reg=reg, W=W0)
        expected = mm_utils.bigram_net_loss(W0, xs, ys, reg).item()
        assert math.isclose(losses[0], expected, rel_tol=1e-5)


def test_same_trajectory_as_per_example_gradient_descent(small_corpus):
    """train_bigram_net is chapter 7's one-hot gradient descent: the same loss at every step and the same final W."""
    xs, ys = small_corpus
    W0 = torch.randn((27, 27), generator=torch.Generator().manual_seed(6))
    W_lib, losses_lib = mm_utils.train_bigram_net(xs, ys, steps=10, lr=5.0, reg=0.01, W=W0)
    W = W0.clone().requires_grad_(True)
    losses = []
    for _ in range(10):
        loss = manual_loss(W, xs, ys, 0.01)
        losses.append(loss.item())
        W.grad = None
        loss.backward()
        W.data += -5.0 * W.grad
    assert torch.allclose(torch.tensor(losses_lib), torch.tensor(losses), atol=1e-5)
    assert torch.allclose(W_lib, W.detach(), atol=1e-4)


def test_reaches_count_model_loss(small_corpus):
    xs, ys = small_corpus
    N = mm_utils.count_bigrams(xs, ys).float()
    count_nll = -(N[xs, ys] / N.sum(1)[xs]).log().mean().item()  # mean NLL of the (unsmoothed) count model
    W, _ = mm_utils.train_bigram_net(xs, ys, steps=3000, lr=50)
    net_nll = mm_utils.bigram_net_loss(W, xs, ys).item()
    assert count_nll <= net_nll + 1e-5  # the count model is the optimum on the training data
    assert net_nll - count_nll < 0.005


def test_regularization_pulls_towards_uniform(small_corpus):
    xs, ys = small_corpus
    nll, entropy = [], []
    for reg in [0.0, 0.1, 10.0]:
        W, _ = mm_utils.train_bigram_net(xs, ys, steps=300, lr=10, reg=reg)
        probs = W.softmax(1)
        nll.append(mm_utils.bigram_net_loss(W, xs, ys).item())
        entropy.append(-(probs * probs.log()).sum(1).mean().item())
    assert nll == sorted(nll) and entropy == sorted(entropy)  # the stronger the regularization, the closer to uniform
    assert entropy[-1] > 0.99 * math.log(27) - 0.05


def test_start_points_and_determinism(small_corpus):
    xs, ys = small_corpus
    # neither given: start from zeros (the uniform model)
    _, losses = mm_utils.train_bigram_net(xs, ys, steps=1, lr=1.0)
    assert math.isclose(losses[0], math.log(27), rel_tol=1e-6)
    # same seed, same result
    Wa, la = mm_utils.train_bigram_net(xs, ys, steps=5, lr=1.0, g=torch.Generator().manual_seed(7))
    Wb, lb = mm_utils.train_bigram_net(xs, ys, steps=5, lr=1.0, g=torch.Generator().manual_seed(7))
    assert torch.equal(Wa, Wb) and la == lb
    # W given: it is not modified; steps=0 returns a copy as it is
    W0 = torch.randn((27, 27), generator=torch.Generator().manual_seed(8))
    saved = W0.clone()
    W1, l1 = mm_utils.train_bigram_net(xs, ys, steps=0, lr=1.0, W=W0)
    assert l1 == [] and torch.equal(W1, saved) and W1 is not W0
    mm_utils.train_bigram_net(xs, ys, steps=3, lr=1.0, W=W0)
    assert torch.equal(W0, saved)


def test_continuing_equals_one_long_run(small_corpus):
    xs, ys = small_corpus
    g = torch.Generator().manual_seed(9)
    W_long, l_long = mm_utils.train_bigram_net(xs, ys, steps=20, lr=5.0, g=g)
    g = torch.Generator().manual_seed(9)
    W_half, l1 = mm_utils.train_bigram_net(xs, ys, steps=10, lr=5.0, g=g)
    W_rest, l2 = mm_utils.train_bigram_net(xs, ys, steps=10, lr=5.0, W=W_half)
    assert torch.allclose(W_long, W_rest) and l1 + l2 == pytest.approx(l_long)


def test_vocab_size_from_w():
    xs, ys = toy_pairs()
    W, losses = mm_utils.train_bigram_net(xs, ys, steps=5, lr=1.0, W=torch.zeros(5, 5))
    assert W.shape == (5, 5) and math.isclose(losses[0], math.log(5), rel_tol=1e-6)


def test_train_bad_indices():
    xs, ys = toy_pairs()  # indices up to 4
    with pytest.raises(ValueError, match="0..2"):
        mm_utils.train_bigram_net(xs, ys, steps=5, lr=1.0, W=torch.zeros(3, 3))
    with pytest.raises(ValueError, match="为空"):
        empty = torch.tensor([], dtype=torch.int64)
        mm_utils.train_bigram_net(empty, empty, steps=1, lr=1.0)
