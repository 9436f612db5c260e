"""Chapter 6's shared code: avg_nll (average negative log likelihood) and split_words (train/dev/test split)."""

import math
from collections import Counter

import pytest
import torch

import mm_utils

# a 3×3 toy "probability matrix" whose rows sum to 1
TOY_P = torch.tensor(
    [
        [0.5, 0.25, 0.25],
        [0.1, 0.6, 0.3],
        [0.2, 0.2, 0.6],
    ]
)


# ---------------------------------------------------------------- avg_nll


def test_avg_nll_matches_hand_computation():
    xs = torch.tensor([0, 1, 2, 0])
    ys = torch.tensor([0, 1, 2, 1])
    # by hand: picks P[0,0]=0.5, P[1,1]=0.6, P[2,2]=0.6, P[0,1]=0.25
    expected = -(math.log(0.5) + math.log(0.6) + math.log(0.6) + math.log(0.25)) / 4
    got = mm_utils.avg_nll(TOY_P, xs, ys)
    assert isinstance(got, float)
    assert got == pytest.approx(expected, rel=1e-6)


def test_avg_nll_single_pair_is_minus_log_prob():
    got = mm_utils.avg_nll(TOY_P, torch.tensor([1]), torch.tensor([0]))
    assert got == pytest.approx(-math.log(0.1), rel=1e-6)


def test_avg_nll_perfect_model_is_zero_and_uniform_is_log_v():
    eye = torch.eye(3)
    xs = torch.tensor([0, 1, 2])
    assert mm_utils.avg_nll(eye, xs, xs) == 0.0
    uniform = torch.full((27, 27), 1 / 27)
    xs = torch.arange(27)
    ys = torch.arange(27).flip(0)
    assert mm_utils.avg_nll(uniform, xs, ys) == pytest.approx(math.log(27), rel=1e-6)


def test_avg_nll_zero_probability_gives_inf():
    P = TOY_P.clone()
    P[2, 0] = 0.0
    got = mm_utils.avg_nll(P, torch.tensor([0, 2]), torch.tensor([0, 0]))
    assert math.isinf(got) and got > 0


def test_avg_nll_does_not_modify_inputs():
    P = TOY_P.clone()
    xs, ys = torch.tensor([0, 1]), torch.tensor([2, 2])
    mm_utils.avg_nll(P, xs, ys)
    assert torch.equal(P, TOY_P)
    assert xs.tolist() == [0, 1] and ys.tolist() == [2, 2]


# ---------------------------------------------------------------- split_words

WORDS = [f"name{i}" for i in range(103)]


def test_split_words_sizes_and_partition():
    g = torch.Generator().manual_seed(42)
    train, dev, test = mm_utils.split_words(WORDS, g)
    assert (len(train), len(dev), len(test)) == (82, 10, 11)  # int(82.4), int(92.7) - 82, the rest
    assert Counter(train + dev + test) == Counter(WORDS)  # nothing lost, nothing repeated
    assert not set(train) & set(dev) and not set(dev) & set(test) and not set(train) & set(test)


def test_split_words_is_a_shuffle_and_keeps_input():
    before = list(WORDS)
    train, dev, test = mm_utils.split_words(WORDS, torch.Generator().manual_seed(0))
    assert WORDS == before
    assert train + dev + test != WORDS  # really shuffled


def test_split_words_deterministic_with_seed():
    a = mm_utils.split_words(WORDS, torch.Generator().manual_seed(2147483647))
    b = mm_utils.split_words(WORDS, torch.Generator().manual_seed(2147483647))
    c = mm_utils.split_words(WORDS, torch.Generator().manual_seed(1))
    assert a == b
    assert a != c


def test_split_words_matches_randperm_recipe():
    """The same as the hand-written version in chapter 6's exercise."""
    g = torch.Generator().manual_seed(2147483647)
    perm = torch.randperm(len(WORDS), generator=g).tolist()
    n1, n2 = int(0.8 * len(WORDS)), int(0.9 * len(WORDS))
    expected = ([WORDS[i] for i in perm[:n1]], [WORDS[i] for i in perm[n1:n2]], [WORDS[i] for i in perm[n2:]])
    assert mm_utils.split_words(WORDS, torch.Generator().manual_seed(2147483647)) == expected


def test_split_words_the_books_split_of_the_real_data(names_path):
    """The book's one split (GUIDE §9): chapter 6's seed gives 25,626 / 3,203 / 3,204 names."""
    words = mm_utils.load_words(names_path)
    train, dev, test = mm_utils.split_words(words, torch.Generator().manual_seed(2147483647))
    assert (len(train), len(dev), len(test)) == (25626, 3203, 3204)
    assert Counter(train + dev + test) == Counter(words)


@pytest.mark.parametrize("n", [10, 30, 100, 1000, 32033])
def test_split_sizes_are_exact_tenths(n):
    """Integer arithmetic: the float error of 0.9 * n cannot drop one name (int(0.9 * 30) is 27, not 26)."""
    train, dev, test = mm_utils.split_words([str(i) for i in range(n)], torch.Generator().manual_seed(0))
    assert len(train) == (8 * n) // 10 and len(train) + len(dev) == (9 * n) // 10 and len(test) == n - (9 * n) // 10
