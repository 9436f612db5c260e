"""Chapter 9's shared code: build_dataset (context-window data set), evaluate_loss, sample_model, train_minibatch,
the timer best_time."""

import math
import time

import pytest
import torch
import torch.nn.functional as F

import mm_utils


@pytest.fixture(scope="module")
def vocab(names_path):
    words = mm_utils.load_words(names_path)
    stoi, itos = mm_utils.build_vocab(words)
    return words, stoi, itos


def tiny_mlp(g, block_size=3, n_embd=4, n_hidden=16, V=27):
    C = torch.randn((V, n_embd), generator=g)
    W1 = torch.randn((block_size * n_embd, n_hidden), generator=g) * 0.3
    b1 = torch.zeros(n_hidden)
    W2 = torch.randn((n_hidden, V), generator=g) * 0.1
    b2 = torch.zeros(V)
    parameters = [C, W1, b1, W2, b2]
    for p in parameters:
        p.requires_grad = True

    def forward(X):
        h = torch.tanh(C[X].view(X.shape[0], -1) @ W1 + b1)
        return h @ W2 + b2

    return parameters, forward


# ---------------------------------------------------------------- build_dataset


def test_emma_rows(vocab):
    _, stoi, itos = vocab
    X, Y = mm_utils.build_dataset(["emma"], stoi, 3)
    assert X.shape == (5, 3) and Y.shape == (5,)
    assert X.dtype == torch.int64 and Y.dtype == torch.int64
    rows = ["".join(itos[i] for i in x) + "->" + itos[y] for x, y in zip(X.tolist(), Y.tolist())]
    assert rows == ["...->e", "..e->m", ".em->m", "emm->a", "mma->."]


def test_shapes_on_the_book_split(vocab):
    words, stoi, _ = vocab
    train_words, dev_words, _ = mm_utils.split_words(words, torch.Generator().manual_seed(2147483647))
    for ws in (train_words, dev_words):
        for block_size in (1, 3, 8):
            X, Y = mm_utils.build_dataset(ws, stoi, block_size)
            assert X.shape == (sum(len(w) + 1 for w in ws), block_size)
            assert Y.shape == (X.shape[0],)
            assert int(X.min()) >= 0 and int(X.max()) < 27 and int(Y.max()) < 27
            # every name starts from an all-'.' context, and ends with the label '.'
            assert int((X == 0).all(1).sum()) >= len(ws)
            assert int((Y == 0).sum()) == len(ws)


def test_block_size_one_is_the_bigram_data_set(vocab):
    words, stoi, _ = vocab
    X, Y = mm_utils.build_dataset(words[:500], stoi, 1)
    xs, ys = mm_utils.bigram_indices(words[:500], stoi)
    assert torch.equal(X[:, 0], xs) and torch.equal(Y, ys)


def test_each_row_is_the_window_before_its_label(vocab):
    words, stoi, _ = vocab
    block_size = 4
    X, Y = mm_utils.build_dataset(words[:200], stoi, block_size)
    k = 0
    for w in words[:200]:
        ix = [0] * block_size + [stoi[c] for c in w] + [0]
        for t in range(len(w) + 1):
            assert X[k].tolist() == ix[t:t + block_size] and Y[k].item() == ix[t + block_size]
            k += 1
    assert k == X.shape[0]


@pytest.mark.parametrize("block_size", [0, -1, 2.5, True, "3"])
def test_bad_block_size_is_rejected(vocab, block_size):
    _, stoi, _ = vocab
    with pytest.raises(ValueError, match="block_size"):
        mm_utils.build_dataset(["emma"], stoi, block_size)


@pytest.mark.parametrize("word, bad", [("Emma", "E"), ("zoë", "ë"), ("anne-marie", "-")])
def test_a_character_outside_the_vocabulary_is_named(vocab, word, bad):
    _, stoi, _ = vocab
    with pytest.raises(ValueError) as e:
        mm_utils.build_dataset(["ava", word], stoi, 3)
    assert repr(bad) in str(e.value) and word in str(e.value)


# ---------------------------------------------------------------- evaluate_loss


def test_evaluate_loss_is_cross_entropy_without_a_graph(vocab):
    words, stoi, _ = vocab
    X, Y = mm_utils.build_dataset(words[:300], stoi, 3)
    parameters, forward = tiny_mlp(torch.Generator().manual_seed(1))
    grad_modes = []

    def spy(Xs):
        grad_modes.append(torch.is_grad_enabled())
        return forward(Xs)

    loss = mm_utils.evaluate_loss(spy, X, Y)
    assert isinstance(loss, float)
    assert grad_modes == [False]
    assert math.isclose(loss, F.cross_entropy(forward(X), Y).item(), rel_tol=1e-6)
    assert all(p.grad is None for p in parameters)


def test_evaluate_loss_in_blocks_is_the_mean_over_all_rows(vocab):
    """The split is evaluated in blocks of batch_size rows (the last one shorter), weighted by their rows:
    the whole-split cross entropy up to rounding, and exactly it when the split fits in one block."""
    words, stoi, _ = vocab
    X, Y = mm_utils.build_dataset(words[:300], stoi, 3)
    _, forward = tiny_mlp(torch.Generator().manual_seed(1))
    rows = []

    def spy(Xs):
        rows.append(len(Xs))
        return forward(Xs)

    with torch.no_grad():
        whole = F.cross_entropy(forward(X), Y).item()
    blocked = mm_utils.evaluate_loss(spy, X, Y, batch_size=100)
    n = len(Y)
    assert n % 100 and rows == [100] * (n // 100) + [n % 100]
    assert math.isclose(blocked, whole, rel_tol=1e-6)
    # one row with a huge loss in the short last block: a plain mean of the block means would be far off
    logits = torch.zeros(n, 27)
    logits[-1, 0] = -50.0
    Y0 = torch.zeros(n, dtype=torch.int64)
    start = [0]

    def rows_in_order(Xs):
        out = logits[start[0] : start[0] + len(Xs)]
        start[0] += len(Xs)
        return out

    got = mm_utils.evaluate_loss(rows_in_order, X, Y0, batch_size=100)
    assert math.isclose(got, F.cross_entropy(logits, Y0).item(), rel_tol=1e-6)
    assert mm_utils.evaluate_loss(forward, X, Y, batch_size=n) == whole  # one block: the same float


def test_evaluate_loss_rejects_splits_it_cannot_average(vocab):
    words, stoi, _ = vocab
    X, Y = mm_utils.build_dataset(words[:20], stoi, 3)
    _, forward = tiny_mlp(torch.Generator().manual_seed(1))
    with pytest.raises(ValueError, match="行数不同"):
        mm_utils.evaluate_loss(forward, X, Y[:-1])
    with pytest.raises(ValueError, match="空"):
        mm_utils.evaluate_loss(forward, X[:0], Y[:0])


def test_evaluate_loss_of_equal_logits_is_log_v():
    X = torch.zeros((10, 3), dtype=torch.int64)
    Y = torch.arange(10)
    assert math.isclose(mm_utils.evaluate_loss(lambda Xs: torch.zeros(len(Xs), 27), X, Y), math.log(27), rel_tol=1e-6)


# ---------------------------------------------------------------- sample_model


def test_sampling_is_deterministic_under_a_seed(vocab):
    _, _, itos = vocab
    _, forward = tiny_mlp(torch.Generator().manual_seed(3))
    a = mm_utils.sample_model(forward, itos, 20, torch.Generator().manual_seed(42), 3, max_len=200)
    b = mm_utils.sample_model(forward, itos, 20, torch.Generator().manual_seed(42), 3, max_len=200)
    c = mm_utils.sample_model(forward, itos, 20, torch.Generator().manual_seed(43), 3, max_len=200)
    assert a == b and a != c
    assert len(a) == 20 and all(set(n) <= set("abcdefghijklmnopqrstuvwxyz") for n in a)


def test_sampling_feeds_the_sliding_window(vocab):
    """A model that spells 'anna' deterministically: it sees exactly the last block_size characters."""
    _, stoi, itos = vocab
    spelled = "anna"
    seen = []

    def forward(X):
        assert X.shape == (1, 2) and X.dtype == torch.int64
        seen.append("".join(itos[i] for i in X[0].tolist()))
        t = len(seen) - 1
        logits = torch.full((1, 27), -1e9)
        logits[0, stoi[spelled[t]] if t < len(spelled) else 0] = 0.0
        return logits

    names = mm_utils.sample_model(forward, itos, 1, torch.Generator().manual_seed(0), 2)
    assert names == ["anna"]
    assert seen == ["..", ".a", "an", "nn", "na"]


def test_sampling_stops_a_model_that_never_ends(vocab):
    _, stoi, itos = vocab

    def never_dot(X):
        logits = torch.zeros((X.shape[0], 27))
        logits[:, 0] = -float("inf")
        return logits

    with pytest.raises(RuntimeError, match="1000"):
        mm_utils.sample_model(never_dot, itos, 3, torch.Generator().manual_seed(0), 3)
    assert mm_utils.sample_model(never_dot, itos, 0, torch.Generator().manual_seed(0), 3) == []


# ---------------------------------------------------------------- train_minibatch


def _setup(vocab, seed=0):
    words, stoi, _ = vocab
    X, Y = mm_utils.build_dataset(words[:2000], stoi, 3)
    parameters, forward = tiny_mlp(torch.Generator().manual_seed(seed))
    return X, Y, parameters, forward


def test_train_minibatch_matches_the_chapter_loop(vocab):
    X, Y, parameters, forward = _setup(vocab)
    start = [p.detach().clone() for p in parameters]
    lossi = mm_utils.train_minibatch(forward, parameters, X, Y,
                                     steps=5, batch_size=32, lr=0.1, g=torch.Generator().manual_seed(7))
    # the same five steps written out as in chapter 09
    ref = [p.clone().requires_grad_() for p in start]
    C, W1, b1, W2, b2 = ref
    g = torch.Generator().manual_seed(7)
    expected = []
    for _ in range(5):
        ix = torch.randint(0, X.shape[0], (32,), generator=g)
        h = torch.tanh(C[X[ix]].view(32, -1) @ W1 + b1)
        loss = F.cross_entropy(h @ W2 + b2, Y[ix])
        for p in ref:
            p.grad = None
        loss.backward()
        for p in ref:
            p.data += -0.1 * p.grad
        expected.append(loss.item())
    assert len(lossi) == 5
    assert lossi == pytest.approx(expected, rel=1e-5)
    for p, q in zip(parameters, ref):
        assert torch.allclose(p, q, atol=1e-6)


def test_train_minibatch_is_deterministic_and_lowers_the_loss(vocab):
    runs = []
    for _ in range(2):
        X, Y, parameters, forward = _setup(vocab)
        before = mm_utils.evaluate_loss(forward, X, Y)
        lossi = mm_utils.train_minibatch(forward, parameters, X, Y,
                                         steps=300, batch_size=64, lr=0.5, g=torch.Generator().manual_seed(1))
        after = mm_utils.evaluate_loss(forward, X, Y)
        runs.append((lossi, after))
        assert after < before - 0.3
    assert runs[0] == runs[1]


def test_learning_rate_schedule_gets_every_step_number(vocab):
    X, Y, parameters, forward = _setup(vocab)
    calls = []

    def lr(i):
        calls.append(i)
        return 0.0  # no movement: the parameters stay as they are

    start = [p.detach().clone() for p in parameters]
    mm_utils.train_minibatch(forward, parameters, X, Y,
                             steps=7, batch_size=8, lr=lr, g=torch.Generator().manual_seed(0))
    assert calls == list(range(7))
    assert all(torch.equal(p.detach(), q) for p, q in zip(parameters, start))


def test_train_minibatch_takes_another_loss(vocab):
    # loss= replaces cross-entropy: with an L2 term added, the steps follow the regularized loss, not the plain one
    runs = {}
    for name, extra in (("plain", 0.0), ("l2", 0.1)):
        X, Y, parameters, forward = _setup(vocab)
        W1 = parameters[1]

        def loss(logits, Yb, W1=W1, extra=extra):
            return F.cross_entropy(logits, Yb) + extra * (W1 ** 2).sum()

        lossi = mm_utils.train_minibatch(forward, parameters, X, Y, steps=3, batch_size=16, lr=0.1,
                                         g=torch.Generator().manual_seed(3), loss=loss)
        runs[name] = (lossi, W1.detach().clone())
    default = _setup(vocab)
    lossi = mm_utils.train_minibatch(default[3], default[2], default[0], default[1], steps=3, batch_size=16, lr=0.1,
                                     g=torch.Generator().manual_seed(3))
    assert lossi == runs["plain"][0]  # the default is cross-entropy
    assert runs["l2"][0][0] > runs["plain"][0][0] + 0.01  # the first loss includes the L2 term
    assert runs["l2"][1].norm() < runs["plain"][1].norm()  # and the steps shrink W1


def _spelling(stoi, word):
    """A model that spells ``word`` and then ends the name ('.'), whatever the context."""
    calls = []

    def forward(X):
        t = len(calls)
        calls.append(t)
        logits = torch.full((1, 27), -1e9)
        logits[0, stoi[word[t]] if t < len(word) else 0] = 0.0
        return logits

    return forward, calls


def test_max_len_is_the_first_length_that_stops_a_name(vocab):
    """A name of max_len - 1 characters comes back; one that reaches max_len characters without '.' stops
    with an error right there (exactly max_len model calls), not one character later."""
    _, stoi, itos = vocab
    forward, calls = _spelling(stoi, "abcd")
    assert mm_utils.sample_model(forward, itos, 1, torch.Generator().manual_seed(0), 3, max_len=5) == ["abcd"]
    assert len(calls) == 5  # four letters and the final '.'
    forward, calls = _spelling(stoi, "abcd")
    with pytest.raises(RuntimeError, match="4"):
        mm_utils.sample_model(forward, itos, 1, torch.Generator().manual_seed(0), 3, max_len=4)
    assert len(calls) == 4
    forward, calls = _spelling(stoi, "abcdefghij" * 5)
    with pytest.raises(RuntimeError, match="7"):
        mm_utils.sample_model(forward, itos, 1, torch.Generator().manual_seed(0), 3, max_len=7)
    assert len(calls) == 7


# ---------------------------------------------------------------- build_splits, step_lr, smooth


def test_build_splits_is_build_dataset_on_each_split(vocab):
    words, stoi, _ = vocab
    splits = mm_utils.split_words(words, torch.Generator().manual_seed(2147483647))
    tensors = mm_utils.build_splits(splits, stoi, 3)
    assert len(tensors) == 6
    for k, ws in enumerate(splits):
        X, Y = mm_utils.build_dataset(ws, stoi, 3)
        assert torch.equal(tensors[2 * k], X) and torch.equal(tensors[2 * k + 1], Y)
    assert [t.shape[0] for t in tensors[1::2]] == [sum(len(w) + 1 for w in ws) for ws in splits]


def test_step_lr_switches_at_the_given_step():
    lr = mm_utils.step_lr(0.2, 0.02, 3)
    assert [lr(i) for i in range(5)] == [0.2, 0.2, 0.2, 0.02, 0.02]


def test_smooth_is_the_chapter_9_function_and_averages_full_windows():
    from support.chapters import load

    chapter = load("09_mlp", "smooth")["smooth"]
    xs = [float(i % 7) for i in range(23)]
    assert mm_utils.smooth(xs, 5) == chapter(xs, 5)
    assert mm_utils.smooth([1.0, 3.0, 5.0, 7.0, 100.0], 2) == [2.0, 6.0]  # the incomplete last window is dropped


# ---------------------------------------------------------------- best_time


def test_best_time_is_the_minimum_over_the_repeats():
    delays = iter([0.03, 0.001, 0.02])
    calls = []

    def fn():
        calls.append(torch.is_grad_enabled())
        time.sleep(next(delays))

    t = mm_utils.best_time(fn, 3)
    assert calls == [True, True, True]  # three runs, none under no_grad: chapter 9 times backward passes
    assert 0.001 <= t < 0.015


def test_best_time_can_time_a_backward_pass():
    w = torch.ones(3, requires_grad=True)

    def step():
        w.grad = None
        (w * w).sum().backward()

    assert mm_utils.best_time(step, 2) >= 0
    assert torch.equal(w.grad, torch.full((3,), 2.0))


def test_best_time_is_the_chapter_9_function(monkeypatch):
    from support.chapters import load

    chapter = load("09_mlp", "best_time")["best_time"]
    for timer in (chapter, mm_utils.best_time):
        ticks = iter([0.0, 5.0, 10.0, 11.0, 20.0, 23.0])  # runs of 5 s, 1 s and 3 s
        monkeypatch.setattr(time, "perf_counter", lambda ticks=ticks: next(ticks))
        assert timer(lambda: None, 3) == 1.0
