"""快速路径：bigram_indices_joined、sample_names_batched（附录 A1）与 count_loss（第 7 章的合并写法）。

快速路径必须与它替代的慢路径给出相同的结果（编码、损失、梯度），或者相同的分布（采样）。

采样的统计容差：n 个独立样本里某事件的频率 f 估计概率 p，标准误 SE = sqrt(p(1-p)/n)。
我们要求每个被比较的量都满足 |f - p| <= 5·SE。若采样器正确，单个量越界的概率约 5.7e-7，
即使同时比较约 100 个量，误报的概率也不到 1e-4；而种子固定，所以测试本身是确定的。
"""

from __future__ import annotations

import math
from collections import Counter

import pytest
import torch
import torch.nn.functional as F

import mm_utils

SEED = 2147483647
NUM = 20_000  # 名字数：最常见首字母 (p≈0.13) 的 5·SE ≈ 0.012，足以发现错位的行


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
    """P(名字长度 = L)，L = 0..max_len：从 '.' 出发的马尔可夫链第一次回到 0 之前走了几步。"""
    P = P.double()
    state = torch.zeros(P.shape[0], dtype=torch.float64)
    state[0] = 1.0  # 当前在 '.'（起点）
    probs = []
    for _ in range(max_len + 1):
        state = state @ P  # 再抽一个字符
        probs.append(state[0].item())  # 抽到 '.'：名字在这里结束
        state[0] = 0.0  # 只有没结束的名字继续
    return probs


# ---------------------------------------------------------------- sample_names_batched


def test_batched_returns_num_names_of_letters(batched):
    assert len(batched) == NUM
    assert all(isinstance(w, str) for w in batched)
    assert all(c in "abcdefghijklmnopqrstuvwxyz" for w in batched for c in w)
    assert all(len(w) >= 1 for w in batched)  # 未平滑的 P[0, 0] = 0：不会有空名字


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
    # 平均长度：精确期望 vs 样本均值，容差 5 个标准误
    mean_exact = sum(L * p for L, p in enumerate(_exact_length_distribution(P, 400)))
    mean = sum(len(w) for w in batched) / NUM
    sd = math.sqrt(sum((len(w) - mean) ** 2 for w in batched) / (NUM - 1))
    assert abs(mean - mean_exact) <= 5 * sd / math.sqrt(NUM), (mean, mean_exact)


def test_batched_transitions_match_P_rows(data, batched):
    """每一步都从正确的行抽样：生成名字里的二元组频率（按前一个字符分行）逼近 P 的对应行。"""
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
        if total < 2000:  # 稀有的行样本太少，5·SE 太宽，没有检验力
            continue
        for c2, j in stoi.items():
            f = pairs[(c1, c2)] / total
            assert _within(f, P[stoi[c1], j].item(), total), (c1, c2, f)
        checked += 1
    assert checked >= 10


def test_batched_mean_length_agrees_with_sample_names(data, batched):
    """与第 4 章的逐个采样比较（两个独立样本，合并标准误）。"""
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
    # 0 -> 1 -> 2 -> 0：每个名字都必然是 "ab"，检验字符被放回了正确的名字、正确的位置；
    # 概率为 0 的字符（包括行首的 0）永远不会被抽到
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
        torch.ones(3, 3),  # 行和不是 1（没归一化）
        torch.tensor([[1.5, -0.5], [0.5, 0.5]]),  # 有负概率
    ],
)
def test_batched_rejects_an_unnormalized_P(P):
    itos = {i: "." if i == 0 else chr(96 + i) for i in range(P.shape[-1])}
    with pytest.raises(ValueError, match="之和为 1"):
        mm_utils.sample_names_batched(P, itos, 5, torch.Generator().manual_seed(0))


@pytest.mark.timeout(30)
@pytest.mark.parametrize("inverse_cdf", [False, True])
def test_batched_is_bounded_when_the_end_is_unreachable(inverse_cdf):
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])  # '.' 不可达
    itos = {0: ".", 1: "a", 2: "b"}
    with pytest.raises(RuntimeError, match="sample_names_batched: 名字长到 1000 个字符"):
        mm_utils.sample_names_batched(P, itos, 10, torch.Generator().manual_seed(0), inverse_cdf=inverse_cdf)


@pytest.mark.parametrize("inverse_cdf", [False, True])
def test_batched_max_len_is_the_same_bound_as_sample_names(inverse_cdf):
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])  # 只能生成 "ab"
    itos = {0: ".", 1: "a", 2: "b"}
    g = torch.Generator().manual_seed(0)
    assert mm_utils.sample_names_batched(P, itos, 3, g, inverse_cdf=inverse_cdf, max_len=3) == ["ab"] * 3
    with pytest.raises(RuntimeError, match="名字长到 2 个字符"):
        mm_utils.sample_names_batched(P, itos, 3, g, inverse_cdf=inverse_cdf, max_len=2)
    with pytest.raises(RuntimeError, match="名字长到 2 个字符"):
        mm_utils.sample_names(P, itos, 3, g, max_len=2)


# ---------------------------------------------------------------- count_loss


def test_count_loss_equals_cross_entropy_and_gradient(data):
    """同一个损失、同一个梯度。参照值用 float64 的 F.cross_entropy(W[xs], ys)（第 7 章的写法）。"""
    xs, ys, N = data[3], data[4], data[5]
    g = torch.Generator().manual_seed(SEED)
    W = torch.randn((27, 27), generator=g)
    W64 = W.double().requires_grad_()
    ref = F.cross_entropy(W64[xs], ys)  # 逐个例子：228146 行
    ref.backward()
    # float64 下两种写法在舍入误差内完全一致
    W64b = W.double().requires_grad_()
    loss64 = mm_utils.count_loss(W64b, N)
    loss64.backward()
    assert loss64.item() == pytest.approx(ref.item(), rel=1e-12)
    assert torch.allclose(W64b.grad, W64.grad, rtol=0, atol=1e-12)
    # float32：按格子求和只加 729 项，比逐例求和（加 228146 项）更接近精确值
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
    W = (N + 1).float().log()  # 平滑后的对数计数：softmax 恰好给出 (N+1) 的行归一化
    P1 = mm_utils.normalize_rows(N + 1)
    assert mm_utils.count_loss(W, N).item() == pytest.approx(mm_utils.avg_nll(P1, xs, ys), rel=1e-5)


@pytest.mark.parametrize(
    "W, N",
    [
        (torch.zeros(3, 3), torch.ones(3, 4)),  # 形状不同
        (torch.zeros(3), torch.ones(3)),  # 不是二维
        (torch.zeros(2, 2), torch.tensor([[1, -1], [0, 2]])),  # 负计数
        (torch.zeros(2, 2), torch.zeros(2, 2)),  # 没有数据
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
    # 空名字、含 '.' 的名字（load_words 不会给出这些）：两种写法仍给出同样的编号
    xl, yl = mm_utils.bigram_indices(odd, data[1])
    xj, yj = mm_utils.bigram_indices_joined(odd, data[1])
    assert torch.equal(xj, xl) and torch.equal(yj, yl)


def test_joined_indices_reject_vocab_without_dot_at_0():
    with pytest.raises(ValueError):
        mm_utils.bigram_indices_joined(["ab"], {".": 2, "a": 0, "b": 1})
