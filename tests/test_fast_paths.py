"""Fast paths: bigram_indices_joined, sample_names_batched (appendix A1) and count_loss (chapter 7's grouped form).

A fast path must give the same result as the slow path it replaces (indices, loss, gradient), or the same
distribution (sampling).

Statistical tolerance for sampling: the frequency f of an event in n independent samples estimates its
probability p with standard error SE = sqrt(p(1-p)/n). Every compared quantity must satisfy
|f - p| <= 5·SE. For a correct sampler one quantity falls outside with probability about 5.7e-7; even
with about 100 quantities compared, a false alarm has probability below 1e-4; and the seed is fixed, so
the test itself is deterministic.
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

import mm_utils

SEED = 2147483647
NUM = 20_000  # names: 5·SE for the most common first letter (p≈0.13) is ≈ 0.012, enough to catch a shifted row


@pytest.fixture(scope="module")
def data(names_path):
    words = mm_utils.load_words(names_path)
    stoi, itos = mm_utils.build_vocab(words)
    xs, ys = mm_utils.bigram_indices(words, stoi)
    N = mm_utils.count_bigrams(xs, ys)
    P = mm_utils.normalize_rows(N)
    return words, stoi, itos, xs, ys, N, P


@pytest.fixture(scope="module", params=[False, True], ids=["multinomial", "inverse_cdf"])
def batched(data, request):
    """Both ways of drawing a step (multinomial, inverse CDF) must give the same distribution."""
    itos, P = data[2], data[6]
    g = torch.Generator().manual_seed(SEED)
    return mm_utils.sample_names_batched(P, itos, NUM, g, inverse_cdf=request.param)


def _within(freq: float, p: float, n: int, k: float = 5.0) -> bool:
    return abs(freq - p) <= k * math.sqrt(p * (1 - p) / n) + 1e-12


def _exact_length_distribution(P: torch.Tensor, max_len: int) -> list[float]:
    """P(name length = L), L = 0..max_len: the steps the Markov chain from '.' takes before it first returns to 0."""
    P = P.double()
    state = torch.zeros(P.shape[0], dtype=torch.float64)
    state[0] = 1.0  # at '.' (the start)
    probs = []
    for _ in range(max_len + 1):
        state = state @ P  # draw one more character
        probs.append(state[0].item())  # drew '.': the name ends here
        state[0] = 0.0  # only the names that have not ended go on
    return probs


# ---------------------------------------------------------------- sample_names_batched


def test_batched_returns_num_names_of_letters(batched):
    assert len(batched) == NUM
    assert all(isinstance(w, str) for w in batched)
    assert all(c in "abcdefghijklmnopqrstuvwxyz" for w in batched for c in w)
    assert all(len(w) >= 1 for w in batched)  # unsmoothed P[0, 0] = 0: no empty names


def test_batched_first_letter_frequencies_match_row_0(data, batched):
    itos, P = data[2], data[6]
    counts = Counter(w[0] for w in batched)
    for i in range(1, 27):
        f = counts[itos[i]] / NUM
        assert _within(f, P[0, i].item(), NUM), (itos[i], f, P[0, i].item())


def test_batched_length_distribution_matches_exact(data, batched):
    P = data[6]
    exact = _exact_length_distribution(P, 30)
    lengths = Counter(len(w) for w in batched)
    for L in range(0, 31):
        assert _within(lengths[L] / NUM, exact[L], NUM), (L, lengths[L] / NUM, exact[L])
    # mean length: exact expectation vs sample mean, tolerance 5 standard errors
    mean_exact = sum(L * p for L, p in enumerate(_exact_length_distribution(P, 400)))
    mean = sum(len(w) for w in batched) / NUM
    sd = math.sqrt(sum((len(w) - mean) ** 2 for w in batched) / (NUM - 1))
    assert abs(mean - mean_exact) <= 5 * sd / math.sqrt(NUM), (mean, mean_exact)


def test_batched_transitions_match_P_rows(data, batched):
    """Every step draws from the right row: bigram frequencies in the generated names (one row per previous
    character) approach the rows of P."""
    stoi, P = data[1], data[6]
    pairs = Counter()
    for w in batched:
        chs = ["."] + list(w) + ["."]
        pairs.update(zip(chs, chs[1:]))
    row_totals = Counter()
    for (c1, _c2), n in pairs.items():
        row_totals[c1] += n
    checked = 0
    for c1, total in row_totals.items():
        if total < 2000:  # rare rows have too few samples: 5·SE is too wide to test anything
            continue
        for c2, j in stoi.items():
            f = pairs[(c1, c2)] / total
            assert _within(f, P[stoi[c1], j].item(), total), (c1, c2, f)
        checked += 1
    assert checked >= 10


def test_batched_mean_length_agrees_with_sample_names(data, batched):
    """Compared with chapter 4's one-at-a-time sampler (two independent samples, pooled standard error)."""
    itos, P = data[2], data[6]
    g = torch.Generator().manual_seed(SEED)
    seq = mm_utils.sample_names(P, itos, 2000, g)
    m1 = sum(map(len, seq)) / len(seq)
    m2 = sum(map(len, batched)) / len(batched)
    var = sum((len(w) - m2) ** 2 for w in batched) / (len(batched) - 1)
    assert abs(m1 - m2) <= 5 * math.sqrt(var / len(seq) + var / len(batched)), (m1, m2)


def test_batched_is_deterministic_for_a_seed(data):
    itos, P = data[2], data[6]
    a = mm_utils.sample_names_batched(P, itos, 500, torch.Generator().manual_seed(SEED))
    b = mm_utils.sample_names_batched(P, itos, 500, torch.Generator().manual_seed(SEED))
    c = mm_utils.sample_names_batched(P, itos, 500, torch.Generator().manual_seed(SEED + 1))
    assert a == b
    assert a != c


@pytest.mark.parametrize("inverse_cdf", [False, True])
def test_batched_deterministic_chain_gives_exact_names(inverse_cdf):
    # 0 -> 1 -> 2 -> 0: every name must be "ab", which checks that characters go back to the right name and
    # position; characters of probability 0 (including the 0 at the start of a row) are never drawn
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    itos = {0: ".", 1: "a", 2: "b"}
    g = torch.Generator().manual_seed(0)
    assert mm_utils.sample_names_batched(P, itos, 7, g, inverse_cdf=inverse_cdf) == ["ab"] * 7


def test_batched_num_zero_returns_empty_list(data):
    itos, P = data[2], data[6]
    assert mm_utils.sample_names_batched(P, itos, 0, torch.Generator().manual_seed(SEED)) == []


@pytest.mark.parametrize(
    "P",
    [
        torch.ones(3, 3),  # rows do not sum to 1 (not normalized)
        torch.tensor([[1.5, -0.5], [0.5, 0.5]]),  # a negative probability
    ],
)
def test_batched_rejects_an_unnormalized_P(P):
    itos = {i: "." if i == 0 else chr(96 + i) for i in range(P.shape[-1])}
    with pytest.raises(ValueError, match="之和为 1"):
        mm_utils.sample_names_batched(P, itos, 5, torch.Generator().manual_seed(0))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("inverse_cdf", [False, True])
def test_batched_is_bounded_when_the_end_is_unreachable(inverse_cdf):
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])  # '.' cannot be reached
    itos = {0: ".", 1: "a", 2: "b"}
    with pytest.raises(RuntimeError, match="sample_names_batched: 名字长到 1000 个字符"):
        mm_utils.sample_names_batched(P, itos, 10, torch.Generator().manual_seed(0), inverse_cdf=inverse_cdf)


@pytest.mark.parametrize("inverse_cdf", [False, True])
def test_batched_max_len_is_the_same_bound_as_sample_names(inverse_cdf):
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # can only generate "ab"
    itos = {0: ".", 1: "a", 2: "b"}
    g = torch.Generator().manual_seed(0)
    assert mm_utils.sample_names_batched(P, itos, 3, g, inverse_cdf=inverse_cdf, max_len=3) == ["ab"] * 3
    with pytest.raises(RuntimeError, match="名字长到 2 个字符"):
        mm_utils.sample_names_batched(P, itos, 3, g, inverse_cdf=inverse_cdf, max_len=2)
    with pytest.raises(RuntimeError, match="名字长到 2 个字符"):
        mm_utils.sample_names(P, itos, 3, g, max_len=2)


# ---------------------------------------------------------------- count_loss


def test_count_loss_equals_cross_entropy_and_gradient(data):
    """The same loss, the same gradient. Reference: F.cross_entropy(W[xs], ys) in float64 (chapter 7's form)."""
    xs, ys, N = data[3], data[4], data[5]
    g = torch.Generator().manual_seed(SEED)
    W = torch.randn((27, 27), generator=g)
    W64 = W.double().requires_grad_()
    ref = F.cross_entropy(W64[xs], ys)  # example by example: 228146 rows
    ref.backward()
    # in float64 the two forms agree to round-off
    W64b = W.double().requires_grad_()
    loss64 = mm_utils.count_loss(W64b, N)
    loss64.backward()
    assert loss64.item() == pytest.approx(ref.item(), rel=1e-12)
    assert torch.allclose(W64b.grad, W64.grad, rtol=0, atol=1e-12)
    # float32: summing over cells adds only 729 terms, closer to the exact value than summing over
    # examples (228146 terms)
    W32 = W.clone().requires_grad_()
    loss32 = mm_utils.count_loss(W32, N)
    loss32.backward()
    assert loss32.shape == () and loss32.dtype == torch.float32
    assert loss32.item() == pytest.approx(ref.item(), rel=1e-6)
    assert torch.allclose(W32.grad.double(), W64.grad, rtol=0, atol=1e-7)
    W32c = W.clone().requires_grad_()
    F.cross_entropy(W32c[xs], ys).backward()
    assert torch.allclose(W32c.grad, W32.grad, rtol=0, atol=1e-4)


def test_count_loss_at_log_P_is_the_count_model_nll(data):
    xs, ys, N = data[3], data[4], data[5]
    W = (N + 1).float().log()  # log of the smoothed counts: softmax gives exactly the row-normalized (N+1)
    P1 = mm_utils.normalize_rows(N + 1)
    assert mm_utils.count_loss(W, N).item() == pytest.approx(mm_utils.avg_nll(P1, xs, ys), rel=1e-5)


@pytest.mark.parametrize(
    "W, N",
    [
        (torch.zeros(3, 3), torch.ones(3, 4)),  # different shapes
        (torch.zeros(3), torch.ones(3)),  # not 2-D
        (torch.zeros(2, 2), torch.tensor([[1, -1], [0, 2]])),  # negative counts
        (torch.zeros(2, 2), torch.zeros(2, 2)),  # no data
    ],
)
def test_count_loss_rejects_bad_input(W, N):
    with pytest.raises(ValueError):
        mm_utils.count_loss(W, N)


# ---------------------------------------------------------------- bigram_indices_joined


def test_joined_indices_equal_the_loop_version(data):
    words, stoi, xs, ys = data[0], data[1], data[3], data[4]
    xj, yj = mm_utils.bigram_indices_joined(words, stoi)
    assert xj.dtype == torch.int64 and yj.dtype == torch.int64
    assert torch.equal(xj, xs) and torch.equal(yj, ys)
    assert xj.numel() == 228146


@pytest.mark.parametrize("words", [["a"], ["emma", "bo"], ["zz", "a", "q"]])
def test_joined_indices_small_cases(data, words):
    stoi = data[1]
    xl, yl = mm_utils.bigram_indices(words, stoi)
    xj, yj = mm_utils.bigram_indices_joined(words, stoi)
    assert torch.equal(xj, xl) and torch.equal(yj, yl)


@pytest.mark.parametrize("bad", [["Emma"], ["ok", "x-y"], ["zoë"]])
def test_joined_indices_reject_what_bigram_indices_rejects(data, bad):
    with pytest.raises(ValueError, match="不在 stoi"):
        mm_utils.bigram_indices(bad, data[1])
    with pytest.raises(ValueError, match="不在 stoi"):
        mm_utils.bigram_indices_joined(bad, data[1])


@pytest.mark.parametrize("odd", [["a", "", "b"], ["a.b"], ["ab."]])
def test_joined_indices_agree_even_on_odd_input(data, odd):
    # empty names, names containing '.' (load_words never returns them): both forms still give the same indices
    xl, yl = mm_utils.bigram_indices(odd, data[1])
    xj, yj = mm_utils.bigram_indices_joined(odd, data[1])
    assert torch.equal(xj, xl) and torch.equal(yj, yl)


def test_joined_indices_reject_vocab_without_dot_at_0():
    with pytest.raises(ValueError):
        mm_utils.bigram_indices_joined(["ab"], {".": 2, "a": 0, "b": 1})
