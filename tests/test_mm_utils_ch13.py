"""Chapter 13's shared code: build_sequences (whole-name sequences), sequence_loss, evaluate_model, warmup_cosine_lr,
train_model and MLP."""

import math

import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F

import mm_utils
from support.chapters import load

SEED = 2147483647


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


@pytest.fixture(scope="module")
def vocab(names_path):
    words = mm_utils.load_words(names_path)
    stoi, itos = mm_utils.build_vocab(words)
    return words, stoi, itos


class Bigram(nn.Module):
    """The chapter's first sequence model: forward(idx, targets) -> (logits, loss), logits = a row lookup."""

    def __init__(self):
        super().__init__()
        self.logits = nn.Embedding(27, 27)
        nn.init.zeros_(self.logits.weight)

    def forward(self, idx, targets=None):
        logits = self.logits(idx)
        return logits, None if targets is None else mm_utils.sequence_loss(logits, targets)


class BNModel(nn.Module):
    """A model whose output depends on train/eval mode (BatchNorm), on windows of 3 characters."""

    def __init__(self):
        super().__init__()
        torch.manual_seed(0)
        self.net = nn.Sequential(nn.Embedding(27, 4), nn.Flatten(), nn.Linear(12, 16), nn.BatchNorm1d(16),
                                 nn.Tanh(), nn.Linear(16, 27))
        self.modes: list[bool] = []  # the mode of every forward call

    def forward(self, idx, targets=None):
        self.modes.append(self.training)
        logits = self.net(idx)
        return logits, None if targets is None else mm_utils.sequence_loss(logits, targets)


# ---------------------------------------------------------------- build_sequences


def test_build_sequences_encodes_emma_as_makemore_does():
    stoi = {ch: i for i, ch in enumerate(".abcdefghijklmnopqrstuvwxyz")}
    X, Y = mm_utils.build_sequences(["emma", "bo"], stoi, max_len=6)
    assert X.dtype == Y.dtype == torch.int64 and X.shape == Y.shape == (2, 7)
    assert X.tolist() == [[0, 5, 13, 13, 1, 0, 0], [0, 2, 15, 0, 0, 0, 0]]
    assert Y.tolist() == [[5, 13, 13, 1, 0, -1, -1], [2, 15, 0, -1, -1, -1, -1]]
    assert torch.equal(X[:, 1:], Y[:, :-1].clamp(min=0))  # y is x shifted left by one


def test_a_name_of_exactly_max_len_fits(vocab):
    _, stoi, _ = vocab
    X, Y = mm_utils.build_sequences(["abc"], stoi, max_len=3)
    assert X.tolist() == [[0, 1, 2, 3]] and Y.tolist() == [[1, 2, 3, 0]]


def test_valid_positions_are_the_bigram_pairs_and_the_windows(vocab):
    words, stoi, _ = vocab
    ws = words[:500]
    max_len = max(len(w) for w in ws)
    X, Y = mm_utils.build_sequences(ws, stoi, max_len)
    valid = Y != -1
    xs, ys = mm_utils.bigram_indices(ws, stoi)
    assert torch.equal(X[valid], xs) and torch.equal(Y[valid], ys)
    Xw, Yw = mm_utils.build_dataset(ws, stoi, 3)
    ctx = F.pad(X, (2, 0)).unfold(1, 3, 1)
    assert torch.equal(ctx[valid], Xw) and torch.equal(Y[valid], Yw)
    assert int(valid.sum()) == sum(len(w) + 1 for w in ws)


@pytest.mark.parametrize("max_len", [0, -1, 2.5, "16", True, None])
def test_build_sequences_rejects_a_bad_max_len(vocab, max_len):
    _, stoi, _ = vocab
    with pytest.raises(ValueError, match="max_len"):
        mm_utils.build_sequences(["emma"], stoi, max_len)


def test_build_sequences_rejects_a_name_longer_than_max_len(vocab):
    _, stoi, _ = vocab
    with pytest.raises(ValueError, match="'annabelle'.*max_len=5"):
        mm_utils.build_sequences(["emma", "annabelle"], stoi, 5)


@pytest.mark.parametrize("word, bad", [("Emma", "'E'"), ("em ma", "' '"), ("em.ma", "'.'")])
def test_build_sequences_rejects_characters_outside_the_names(vocab, word, bad):
    _, stoi, _ = vocab
    with pytest.raises(ValueError, match=bad):
        mm_utils.build_sequences([word], stoi, 16)


# ---------------------------------------------------------------- sequence_loss


def test_sequence_loss_ignores_padding_and_equals_the_explicit_mask():
    g = gen()
    logits = torch.randn((4, 6, 27), generator=g)
    Y = torch.tensor([[1, 2, 0, -1, -1, -1], [3, 0, -1, -1, -1, -1], [5, 6, 7, 8, 0, -1], [0, -1, -1, -1, -1, -1]])
    mask = (Y != -1).float()
    per = F.cross_entropy(logits.view(-1, 27), Y.clamp(min=0).view(-1), reduction="none").view(4, 6)
    expected = (per * mask).sum() / mask.sum()
    loss = mm_utils.sequence_loss(logits, Y)
    assert torch.allclose(loss, expected, atol=1e-6)
    noisy = logits.clone()
    noisy[Y == -1] = 1e3  # whatever the model says at padded positions
    assert torch.equal(mm_utils.sequence_loss(noisy, Y), loss)


def test_sequence_loss_on_windows_is_cross_entropy():
    g = gen()
    logits = torch.randn((10, 27), generator=g)
    Y = torch.randint(0, 27, (10,), generator=g)
    assert torch.equal(mm_utils.sequence_loss(logits, Y), F.cross_entropy(logits, Y))


@pytest.mark.parametrize("shape", [(4, 6), (4, 5, 27), (6, 4, 27), (24, 27)])
def test_sequence_loss_rejects_mismatched_shapes(shape):
    # a common slip: flattening only one of the two, or passing logits transposed (B, V, T)
    Y = torch.zeros((4, 6), dtype=torch.int64)
    with pytest.raises(ValueError, match="sequence_loss"):
        mm_utils.sequence_loss(torch.zeros(shape), Y)


# ---------------------------------------------------------------- evaluate_model


def test_evaluate_model_is_the_per_character_mean_in_any_batch_size(vocab):
    words, stoi, _ = vocab
    ws = words[:300]
    X, Y = mm_utils.build_sequences(ws, stoi, max(len(w) for w in ws))
    model = Bigram()
    with torch.no_grad():
        model.logits.weight.copy_(torch.randn((27, 27), generator=gen()))
    xs, ys = mm_utils.bigram_indices(ws, stoi)
    expected = F.cross_entropy(model.logits.weight[xs], ys).item()
    for batch_size in (7, 64, 4096):  # batches with different numbers of labels are weighted by their count
        assert math.isclose(mm_utils.evaluate_model(model, X, Y, batch_size=batch_size), expected, abs_tol=1e-5)


def test_evaluate_model_uses_eval_mode_and_restores_the_mode():
    model = BNModel()
    g = gen()
    X, Y = torch.randint(0, 27, (50, 3), generator=g), torch.randint(0, 27, (50,), generator=g)
    before = model.net[3].running_mean.clone()
    model.train()
    mm_utils.evaluate_model(model, X, Y, batch_size=16)
    assert model.training, "evaluate_model must give the model back in the mode it had"
    assert model.modes and not any(model.modes), "evaluation must run in eval mode"
    assert torch.equal(model.net[3].running_mean, before), "evaluation must not update BatchNorm's statistics"
    model.eval()
    mm_utils.evaluate_model(model, X, Y)
    assert not model.training


def test_evaluate_model_records_no_graph():
    model = Bigram()
    seen = []
    model.register_forward_hook(lambda m, args, out: seen.append(out[1].requires_grad))
    X = torch.zeros((3, 4), dtype=torch.int64)
    Y = torch.tensor([[1, 0, -1, -1]] * 3)
    mm_utils.evaluate_model(model, X, Y)
    assert seen == [False]


def test_evaluate_model_rejects_bad_input():
    model = Bigram()
    X = torch.zeros((3, 4), dtype=torch.int64)
    with pytest.raises(ValueError, match="行数"):
        mm_utils.evaluate_model(model, X, torch.zeros((2, 4), dtype=torch.int64))
    with pytest.raises(ValueError, match="-1"):
        mm_utils.evaluate_model(model, X, torch.full((3, 4), -1))


# ---------------------------------------------------------------- warmup_cosine_lr


def test_warmup_cosine_lr_shape():
    lrs = [mm_utils.warmup_cosine_lr(i, steps=1000, lr_max=0.1, warmup=100, lr_min=0.001) for i in range(1000)]
    assert math.isclose(lrs[0], 0.001) and math.isclose(lrs[99], 0.1)  # linear warm-up to lr_max
    assert all(a < b for a, b in zip(lrs[:99], lrs[1:100]))
    assert all(a >= b for a, b in zip(lrs[99:], lrs[100:]))  # then never increases
    assert math.isclose(lrs[100], 0.1) and 0.001 < lrs[-1] < 0.0011  # reaches lr_min after the last step
    mid = 100 + 450
    assert math.isclose(lrs[mid], 0.001 + 0.5 * (0.1 - 0.001))  # half way down at the middle of the cosine
    no_warmup = mm_utils.warmup_cosine_lr(0, steps=10, lr_max=0.5, warmup=0)
    assert no_warmup == 0.5


@pytest.mark.parametrize("warmup, steps", [(100, 100), (200, 100), (-1, 100), (0, 0)])
def test_warmup_cosine_lr_rejects_a_warmup_that_does_not_fit(warmup, steps):
    with pytest.raises(ValueError, match="warmup"):
        mm_utils.warmup_cosine_lr(0, steps=steps, lr_max=0.1, warmup=warmup)


# ---------------------------------------------------------------- train_model


def chapter_loop():
    """The loop as chapter 13 writes it (its ``train``) before moving it to mm_utils, loaded from the notebook."""
    return load("13_sequences_adamw", "train")["train"]


def test_train_model_equals_the_chapter_loop_and_learns(vocab):
    words, stoi, _ = vocab
    X, Y = mm_utils.build_sequences(words[:2000], stoi, 15)
    out = []
    for fn in (chapter_loop(), None):
        g = gen()
        model = Bigram()
        opt = torch.optim.AdamW(model.parameters(), lr=0.1, betas=(0.9, 0.99), weight_decay=0.0)
        lr = lambda i: mm_utils.warmup_cosine_lr(i, steps=150, lr_max=0.1, warmup=10, lr_min=0.001)  # noqa: E731
        if fn is None:
            lossi, seconds = mm_utils.train_model(model, opt, X, Y, steps=150, batch_size=64, lr=lr, g=g, clip=1.0)
            assert seconds > 0
        else:
            lossi, _ = fn(model, opt, X, Y, 150, 64, lr, g, 1.0)
        out.append((lossi, model.logits.weight.detach().clone()))
    assert out[0][0] == out[1][0] and torch.equal(out[0][1], out[1][1])
    lossi = out[1][0]
    assert len(lossi) == 150 and math.isclose(lossi[0], math.log(27), rel_tol=1e-6)
    assert sum(lossi[-20:]) / 20 < 2.7


def test_train_model_trains_in_train_mode_and_ends_in_eval_mode():
    model = BNModel()
    model.eval()  # e.g. the caller evaluated it just before
    g = gen()
    X, Y = torch.randint(0, 27, (200, 3), generator=g), torch.randint(0, 27, (200,), generator=g)
    before = model.net[3].running_mean.clone()
    mm_utils.train_model(model, torch.optim.AdamW(model.parameters()), X, Y, steps=5, batch_size=32, lr=0.01, g=g)
    assert model.modes == [True] * 5, "every training step must run in train mode (batch statistics)"
    assert not torch.equal(model.net[3].running_mean, before), "BatchNorm's running statistics must be updated"
    assert not model.training and not any(m.training for m in model.modules()), "the loop must end in eval mode"


def test_train_model_sets_the_learning_rate_of_every_step_and_clips():
    model = Bigram()
    seen = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            seen.append((self.param_groups[0]["lr"], torch.linalg.vector_norm(model.logits.weight.grad).item()))
            return super().step(closure)

    X = torch.zeros((4, 3), dtype=torch.int64)
    Y = torch.tensor([[5, 0, -1]] * 4)
    mm_utils.train_model(model, Spy(model.parameters(), lr=1.0), X, Y, steps=4, batch_size=2,
                         lr=lambda i: 0.5 / (i + 1), g=gen(), clip=0.01)
    assert [lr for lr, _ in seen] == [0.5, 0.25, 0.5 / 3, 0.125]
    assert all(norm <= 0.01 + 1e-6 for _, norm in seen)


def test_train_model_without_clipping_leaves_the_gradient_alone():
    model = Bigram()
    norms = []

    class Spy(torch.optim.SGD):
        def step(self, closure=None):
            norms.append(torch.linalg.vector_norm(model.logits.weight.grad).item())
            return super().step(closure)

    X = torch.zeros((4, 3), dtype=torch.int64)
    Y = torch.tensor([[5, 0, -1]] * 4)
    mm_utils.train_model(model, Spy(model.parameters(), lr=0.0), X, Y, steps=1, batch_size=4, lr=0.0, g=gen(),
                         clip=None)
    reference = Bigram()
    reference(X[:4], Y[:4])[1].backward()  # every row is the same, so any batch gives this gradient
    assert math.isclose(norms[0], torch.linalg.vector_norm(reference.logits.weight.grad).item(), rel_tol=1e-6)
    assert norms[0] > 0.01


def test_train_model_stops_on_a_diverging_loss_and_still_ends_in_eval_mode():
    model = Bigram()
    with torch.no_grad():
        model.logits.weight[0, 5] = float("nan")
    X = torch.zeros((4, 3), dtype=torch.int64)
    Y = torch.tensor([[5, 0, -1]] * 4)
    with pytest.raises(FloatingPointError, match="第 0 步"):
        mm_utils.train_model(model, torch.optim.SGD(model.parameters()), X, Y, steps=3, batch_size=2, lr=0.1, g=gen())
    assert not model.training


@pytest.mark.parametrize("kwargs, match", [
    ({"steps": 0}, "steps"), ({"steps": 2.0}, "steps"), ({"batch_size": 0}, "batch_size"),
    ({"batch_size": True}, "batch_size"),
])
def test_train_model_rejects_bad_arguments(kwargs, match):
    model = Bigram()
    X = torch.zeros((4, 3), dtype=torch.int64)
    Y = torch.tensor([[5, 0, -1]] * 4)
    args = {"steps": 2, "batch_size": 2, "lr": 0.1, "g": gen()} | kwargs
    with pytest.raises(ValueError, match=match):
        mm_utils.train_model(model, torch.optim.SGD(model.parameters()), X, Y, **args)


def test_train_model_rejects_x_and_y_of_different_lengths():
    model = Bigram()
    with pytest.raises(ValueError, match="行数"):
        mm_utils.train_model(model, torch.optim.SGD(model.parameters()), torch.zeros((4, 3), dtype=torch.int64),
                             torch.zeros((3, 3), dtype=torch.int64), steps=1, batch_size=2, lr=0.1, g=gen())


# ---------------------------------------------------------------- MLP


def test_mlp_is_the_chapter_class_with_the_same_initialization_and_logits():
    chapter = load("13_sequences_adamw", "MLP", mm_utils=mm_utils)["MLP"]
    for block_size in (3, 8):
        ours, theirs = mm_utils.MLP(16, 30, gen(), block_size), chapter(16, 30, gen(), block_size)
        assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
        assert all(torch.equal(p, q) for p, q in zip(ours.parameters(), theirs.parameters()))
        idx = torch.randint(0, 27, (5, 7, block_size), generator=gen())
        targets = torch.randint(-1, 27, (5, 7), generator=gen())
        (lo, loss_o), (lt, loss_t) = ours(idx, targets), theirs(idx, targets)
        assert lo.shape == (5, 7, 27) and torch.equal(lo, lt) and torch.equal(loss_o, loss_t)
        assert ours(idx)[1] is None
    # the output layer starts small (x 0.01): the initial loss is near ln 27
    idx, targets = torch.zeros((100, 3), dtype=torch.int64), torch.zeros(100, dtype=torch.int64)
    _, loss = mm_utils.MLP(16, 300, gen())(idx, targets)
    assert abs(loss.item() - math.log(27)) < 0.3
