"""Chapters 4 and 5's mm_utils functions: sample_names (with a length cap) and normalize_rows."""


import pytest
import torch

import mm_utils

ITOS3 = {0: ".", 1: "a", 2: "b"}


def small_counts() -> torch.Tensor:
    # the count matrix of the names ab, abb, b (characters . a b)
    return torch.tensor([[0, 2, 1], [0, 0, 2], [3, 0, 1]], dtype=torch.int32)


# ---------------------------------------------------------------------------
# normalize_rows
# ---------------------------------------------------------------------------


def test_rows_sum_to_one_and_values():
    P = mm_utils.normalize_rows(small_counts())
    assert P.dtype == torch.float32 and P.shape == (3, 3)
    assert torch.allclose(P.sum(1), torch.ones(3))
    expected = torch.tensor([[0, 2 / 3, 1 / 3], [0, 0, 1], [3 / 4, 0, 1 / 4]])
    assert torch.allclose(P, expected)


def test_rows_not_columns():
    # the keepdim bug makes the columns sum to 1; the correct version's column sums are other values
    P = mm_utils.normalize_rows(torch.tensor([[1.0, 3.0], [1.0, 1.0]]))
    assert torch.allclose(P, torch.tensor([[0.25, 0.75], [0.5, 0.5]]))
    assert not torch.allclose(P.sum(0), torch.ones(2))


def test_real_counts_rows_sum_to_one():
    words = mm_utils.load_words()
    stoi, _ = mm_utils.build_vocab(words)
    N = mm_utils.count_bigrams(*mm_utils.bigram_indices(words, stoi))
    P = mm_utils.normalize_rows(N)
    assert torch.allclose(P.sum(1), torch.ones(27))
    assert torch.equal(P, N.float() / N.float().sum(1, keepdim=True))


@pytest.mark.parametrize("dtype", [torch.int32, torch.int64, torch.float32, torch.float64])
def test_does_not_modify_input(dtype):
    N = small_counts().to(dtype)
    before = N.clone()
    P = mm_utils.normalize_rows(N)
    assert torch.equal(N, before) and N.dtype == dtype
    assert P.data_ptr() != N.data_ptr()
    assert P.dtype == torch.float32


def test_float32_input_is_copied_not_aliased():
    # N.float() does not copy a float32 tensor; normalize_rows must copy it itself
    N = small_counts().float()
    P = mm_utils.normalize_rows(N)
    P += 1
    assert torch.equal(N, small_counts().float())


def test_all_zero_row_raises_with_row_index():
    N = small_counts()
    N[1] = 0
    with pytest.raises(ValueError, match=r"\[1\].*全为零"):
        mm_utils.normalize_rows(N)


# ---------------------------------------------------------------------------
# sample_names
# ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def model():
    words = mm_utils.load_words()
    stoi, itos = mm_utils.build_vocab(words)
    N = mm_utils.count_bigrams(*mm_utils.bigram_indices(words, stoi))
    return mm_utils.normalize_rows(N), itos, N


def test_sampler_deterministic_for_seed(model):
    P, itos, _ = model
    a = mm_utils.sample_names(P, itos, 20, torch.Generator().manual_seed(2147483647))
    b = mm_utils.sample_names(P, itos, 20, torch.Generator().manual_seed(2147483647))
    c = mm_utils.sample_names(P, itos, 20, torch.Generator().manual_seed(1))
    assert a == b
    assert a != c
    assert len(a) == 20 and all(isinstance(s, str) for s in a)


def test_sampler_names_use_only_letters_and_are_nonempty(model):
    P, itos, _ = model
    names = mm_utils.sample_names(P, itos, 200, torch.Generator().manual_seed(0))
    assert all(s and set(s) <= set("abcdefghijklmnopqrstuvwxyz") for s in names)  # P[0, 0] == 0


def test_sampler_matches_open_loop(model):
    # the same names as chapter 4's loop that normalizes one row per step
    P, itos, N = model
    g = torch.Generator().manual_seed(3)
    expected = []
    for _ in range(10):
        out, ix = [], 0
        while True:
            p = N[ix].float()
            p = p / p.sum()
            ix = torch.multinomial(p, num_samples=1, replacement=True, generator=g).item()
            if ix == 0:
                break
            out.append(itos[ix])
        expected.append("".join(out))
    assert mm_utils.sample_names(P, itos, 10, torch.Generator().manual_seed(3)) == expected


def test_sampler_stops_on_forced_path():
    # row 0 gives all probability to 'b', 'b' is always followed by '.': every name is exactly "b"
    P = torch.tensor([[0.0, 0.0, 1.0], [0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    names = mm_utils.sample_names(P, ITOS3, 7, torch.Generator().manual_seed(0))
    assert names == ["b"] * 7


def test_sampler_forced_longer_path():
    # . -> a -> b -> . : every name is "ab"
    P = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    assert mm_utils.sample_names(P, ITOS3, 3, torch.Generator().manual_seed(0)) == ["ab"] * 3


def test_num_zero_returns_empty_list_and_does_not_consume_generator(model):
    P, itos, _ = model
    g = torch.Generator().manual_seed(5)
    assert mm_utils.sample_names(P, itos, 0, g) == []
    assert mm_utils.sample_names(P, itos, 3, g) == mm_utils.sample_names(
        P, itos, 3, torch.Generator().manual_seed(5)
    )


def test_rows_not_summing_to_one_raises():
    P = small_counts().float()  # counts, not normalized
    with pytest.raises(ValueError, match="之和为 1"):
        mm_utils.sample_names(P, ITOS3, 1, torch.Generator().manual_seed(0))


def test_column_normalized_P_raises(model):
    # chapter 5's keepdim bug: columns sum to 1, rows do not
    _, itos, N = model
    Nf = N.float()
    with pytest.raises(ValueError, match="之和为 1"):
        mm_utils.sample_names(Nf / Nf.sum(1), itos, 1, torch.Generator().manual_seed(0))


def test_negative_entries_raise():
    P = torch.tensor([[0.0, 1.5, -0.5], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]])  # rows sum to 1 but one entry is negative
    with pytest.raises(ValueError, match="非负"):
        mm_utils.sample_names(P, ITOS3, 1, torch.Generator().manual_seed(0))


def test_float64_P_accepted():
    P = torch.tensor([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=torch.float64)
    assert mm_utils.sample_names(P, ITOS3, 2, torch.Generator().manual_seed(0)) == ["b", "b"]


def test_counts_instead_of_probabilities_raise():
    # the count matrix N (integers) passed straight to the sampler: rows do not sum to 1
    with pytest.raises(ValueError, match="normalize_rows"):
        mm_utils.sample_names(small_counts(), ITOS3, 1, torch.Generator().manual_seed(0))


# ---------------------------------------------------------------------------
# length cap: a P that cannot reach '.' does not make sampling loop forever
# ---------------------------------------------------------------------------

NO_END = torch.tensor([[0.0, 1.0, 0.0], [0.0, 0.5, 0.5], [0.0, 0.5, 0.5]])  # '.' unreachable


@pytest.mark.timeout(30)
def test_unreachable_end_raises_instead_of_looping():
    with pytest.raises(RuntimeError, match=r"sample_names: 名字长到 1000 个字符还没有结束.*P\[:, 0\]"):
        mm_utils.sample_names(NO_END, ITOS3, 1, torch.Generator().manual_seed(0))


@pytest.mark.timeout(30)
def test_max_len_is_the_bound():
    # . -> a -> a -> ... -> a -> b -> . can only generate "a"*k + "b": a deterministic chain to pin the boundary
    P = torch.zeros(4, 4)
    P[0, 1] = 1.0  # . -> a
    P[1, 2] = 1.0  # a -> b
    P[2, 3] = 1.0  # b -> c
    P[3, 0] = 1.0  # c -> .
    itos = {0: ".", 1: "a", 2: "b", 3: "c"}
    g = torch.Generator().manual_seed(0)
    assert mm_utils.sample_names(P, itos, 2, g, max_len=4) == ["abc", "abc"]  # 3 characters < 4: passes
    with pytest.raises(RuntimeError, match="3 个字符"):
        mm_utils.sample_names(P, itos, 1, g, max_len=3)  # not ended after the 3rd character


def test_default_bound_does_not_touch_real_samples(model):
    # the real bigram model: the longest of 1000 names is far below the default cap of 1000
    P, itos, _ = model
    names = mm_utils.sample_names(P, itos, 1000, torch.Generator().manual_seed(2147483647))
    assert max(map(len, names)) < 40
