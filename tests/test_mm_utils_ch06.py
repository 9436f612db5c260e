"""第 6 章的共享代码：avg_nll（平均负对数似然）与 split_words（训练/开发/测试划分）。"""

import math
import sys
from collections import Counter
from pathlib import Path

import pytest
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "notebooks"))
import mm_utils  # noqa: E402

# 一个 3×3 的玩具“概率矩阵”，每行之和为 1
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
    # 手算：取出 P[0,0]=0.5, P[1,1]=0.6, P[2,2]=0.6, P[0,1]=0.25
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


@pytest.mark.parametrize(
    "xs, ys",
    [
        (torch.tensor([0, 1]), torch.tensor([0])),  # 长度不同
        (torch.tensor([], dtype=torch.int64), torch.tensor([], dtype=torch.int64)),  # 空
        (torch.tensor([[0, 1]]), torch.tensor([[1, 2]])),  # 不是一维
    ],
)
def test_avg_nll_bad_indices_raise(xs, ys):
    with pytest.raises(ValueError):
        mm_utils.avg_nll(TOY_P, xs, ys)


def test_avg_nll_bad_matrix_raises():
    with pytest.raises(ValueError):
        mm_utils.avg_nll(torch.ones(3, 3, 3) / 3, torch.tensor([0]), torch.tensor([0]))


# ---------------------------------------------------------------- split_words

WORDS = [f"name{i}" for i in range(103)]


def test_split_words_sizes_and_partition():
    g = torch.Generator().manual_seed(42)
    train, dev, test = mm_utils.split_words(WORDS, g)
    assert (len(train), len(dev), len(test)) == (82, 10, 11)  # int(82.4), int(92.7) - 82, 剩余
    assert Counter(train + dev + test) == Counter(WORDS)  # 不重不漏
    assert not set(train) & set(dev) and not set(dev) & set(test) and not set(train) & set(test)


def test_split_words_is_a_shuffle_and_keeps_input():
    before = list(WORDS)
    train, dev, test = mm_utils.split_words(WORDS, torch.Generator().manual_seed(0))
    assert WORDS == before
    assert train + dev + test != WORDS  # 确实打乱了


def test_split_words_deterministic_with_seed():
    a = mm_utils.split_words(WORDS, torch.Generator().manual_seed(2147483647))
    b = mm_utils.split_words(WORDS, torch.Generator().manual_seed(2147483647))
    c = mm_utils.split_words(WORDS, torch.Generator().manual_seed(1))
    assert a == b
    assert a != c


def test_split_words_matches_randperm_recipe():
    """与第 6 章练习里手写的做法一致。"""
    g = torch.Generator().manual_seed(2147483647)
    perm = torch.randperm(len(WORDS), generator=g).tolist()
    n1, n2 = int(0.8 * len(WORDS)), int(0.9 * len(WORDS))
    expected = ([WORDS[i] for i in perm[:n1]], [WORDS[i] for i in perm[n1:n2]], [WORDS[i] for i in perm[n2:]])
    assert mm_utils.split_words(WORDS, torch.Generator().manual_seed(2147483647)) == expected


def test_split_words_custom_fractions_without_float_loss():
    ten = [str(i) for i in range(10)]
    train, dev, test = mm_utils.split_words(ten, torch.Generator().manual_seed(0), (0.7, 0.2, 0.1))
    assert (len(train), len(dev), len(test)) == (7, 2, 1)


@pytest.mark.parametrize("fractions", [(0.8, 0.1), (0.8, 0.1, 0.2), (1.2, -0.1, -0.1), (0.5, 0.5, 0.5)])
def test_split_words_bad_fractions_raise(fractions):
    with pytest.raises(ValueError):
        mm_utils.split_words(WORDS, torch.Generator().manual_seed(0), fractions)


def test_split_words_empty_raises():
    with pytest.raises(ValueError):
        mm_utils.split_words([], torch.Generator().manual_seed(0))
