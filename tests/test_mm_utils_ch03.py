"""Chapter 3's mm_utils functions: build_vocab, bigram_indices, count_bigrams.

The vectorized count must equal the plainest Python loop element by element (on a small corpus and on the
real data), the vocabulary follows the book's convention ('.' is 0, letters 1..26), and the bad inputs
chapter 3 shows (a name containing '.', a character outside the vocabulary, an index out of range) give a
ValueError that names the cause.
"""

from __future__ import annotations

import string

import pytest
import torch

import mm_utils
from support.reference import loop_count

SMALL = ["emma", "olivia", "ava", "anna", "ann", "bob", "zz", "q"]


@pytest.fixture(scope="module")
def words(names_path) -> list[str]:
    return mm_utils.load_words(names_path)


# ---------------------------------------------------------------- build_vocab


def test_vocab_of_real_data_follows_the_book_convention(words):
    stoi, itos = mm_utils.build_vocab(words)
    assert stoi["."] == 0
    assert [stoi[c] for c in string.ascii_lowercase] == list(range(1, 27))
    assert len(stoi) == len(itos) == 27
    assert itos == {i: s for s, i in stoi.items()}
    assert all(stoi[itos[i]] == i for i in range(27))
    assert itos[1] == "a" and itos[26] == "z" and itos[0] == "."


def test_vocab_numbers_only_the_characters_that_occur():
    stoi, itos = mm_utils.build_vocab(["cab", "bac"])
    assert stoi == {".": 0, "a": 1, "b": 2, "c": 3}
    assert itos == {0: ".", 1: "a", 2: "b", 3: "c"}


def test_vocab_rejects_dot_and_names_the_word():
    with pytest.raises(ValueError, match=r"'an\.na'.*起止符"):
        mm_utils.build_vocab(["emma", "an.na"])


# ---------------------------------------------------------------- bigram_indices


def test_bigram_indices_for_emma():
    stoi, _ = mm_utils.build_vocab(list(string.ascii_lowercase))
    xs, ys = mm_utils.bigram_indices(["emma"], stoi)
    assert xs.tolist() == [0, 5, 13, 13, 1]
    assert ys.tolist() == [5, 13, 13, 1, 0]
    assert xs.dtype == ys.dtype == torch.int64
    assert xs.shape == ys.shape == (5,)


def test_bigram_indices_concatenates_words_in_order():
    stoi, _ = mm_utils.build_vocab(SMALL)
    xs, ys = mm_utils.bigram_indices(["ab", "q"], stoi)
    a, b, q = stoi["a"], stoi["b"], stoi["q"]
    assert xs.tolist() == [0, a, b, 0, q]
    assert ys.tolist() == [a, b, 0, q, 0]


def test_bigram_indices_real_data_shape_and_boundaries(words):
    stoi, _ = mm_utils.build_vocab(words)
    xs, ys = mm_utils.bigram_indices(words, stoi)
    assert xs.shape == ys.shape == (sum(len(w) + 1 for w in words),) == (228146,)
    assert (xs == 0).sum().item() == (ys == 0).sum().item() == len(words)  # each name has one start and one end
    assert int(xs.min()) >= 0 and int(xs.max()) <= 26 and int(ys.min()) >= 0 and int(ys.max()) <= 26


@pytest.mark.parametrize(
    ("bad_words", "message"),
    [
        (["zoë"], r"'ë'.*'zoë'.*不在 stoi"),
        (["Emma"], r"'E'.*不在 stoi"),
    ],
)
def test_bigram_indices_bad_words(bad_words, message):
    stoi, _ = mm_utils.build_vocab(list(string.ascii_lowercase))
    with pytest.raises(ValueError, match=message):
        mm_utils.bigram_indices(bad_words, stoi)


def test_bigram_indices_rejects_vocab_without_dot_at_zero():
    stoi = {c: i for i, c in enumerate(string.ascii_lowercase)}  # chapter 3's first scheme: no '.'
    with pytest.raises(ValueError, match="'.' 的编号必须是 0"):
        mm_utils.bigram_indices(["emma"], stoi)


# ---------------------------------------------------------------- count_bigrams


def test_vectorized_count_equals_loop_on_small_corpus():
    stoi, _ = mm_utils.build_vocab(list(string.ascii_lowercase))
    N = mm_utils.count_bigrams(*mm_utils.bigram_indices(SMALL, stoi))
    expected = loop_count(SMALL, stoi)
    assert N.dtype == torch.int32 and N.shape == (27, 27)
    assert torch.equal(N, expected)
    # a few cells that can be counted by hand
    assert N[stoi["a"], 0].item() == 4  # emma, olivia, ava, anna end in a
    assert N[stoi["z"], stoi["z"]].item() == 1
    assert N[0, stoi["q"]].item() == N[stoi["q"], 0].item() == 1
    assert N[0, 0].item() == 0
    assert N.sum().item() == sum(len(w) + 1 for w in SMALL)


def test_vectorized_count_equals_loop_on_real_data(words):
    stoi, _ = mm_utils.build_vocab(words)
    N = mm_utils.count_bigrams(*mm_utils.bigram_indices(words, stoi))
    assert torch.equal(N, loop_count(words, stoi))
    assert N.sum().item() == 228146
    assert (N > 0).sum().item() == 627
    assert N[stoi["n"], 0].item() == 6763 and N[stoi["a"], 0].item() == 6640
    assert N[0].sum().item() == N[:, 0].sum().item() == len(words) == 32033


def test_count_bigrams_other_vocab_size():
    xs = torch.tensor([0, 1, 1, 2])
    ys = torch.tensor([1, 1, 1, 0])
    N = mm_utils.count_bigrams(xs, ys, vocab_size=3)
    assert N.tolist() == [[0, 1, 0], [0, 2, 0], [1, 0, 0]]


def test_count_bigrams_does_not_modify_inputs():
    xs = torch.tensor([0, 5, 13])
    ys = torch.tensor([5, 13, 0])
    mm_utils.count_bigrams(xs, ys)
    assert xs.tolist() == [0, 5, 13] and ys.tolist() == [5, 13, 0]


@pytest.mark.parametrize(
    ("xs", "ys", "kwargs", "message"),
    [
        (torch.tensor([0, 1, 2]), torch.tensor([0, 1]), {}, r"同样长度.*\(3,\).*\(2,\)"),
        (torch.tensor([0, 27]), torch.tensor([1, 2]), {}, r"0\.\.26.*0\.\.27"),
        (torch.tensor([0, -1]), torch.tensor([1, 2]), {}, r"0\.\.26.*-1\.\.2"),
        (torch.tensor([0, 3]), torch.tensor([1, 2]), {"vocab_size": 3}, r"0\.\.2"),
    ],
)
def test_count_bigrams_bad_arguments(xs, ys, kwargs, message):
    # an index V would otherwise be counted silently in the next row: i * V + V == (i + 1) * V + 0
    with pytest.raises(ValueError, match=message):
        mm_utils.count_bigrams(xs, ys, **kwargs)
