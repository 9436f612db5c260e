"""Chapter 17's shared code: Block, Transformer (structure, initialization, causality, the dropout switch, packing)
and generate_names (sampling from a forward(idx) model, temperature and top-k)."""

import math

import pytest
import torch
import torch.nn as nn

import mm_utils

SEED = 2147483647
ITOS = {i: "." if i == 0 else chr(ord("a") + i - 1) for i in range(27)}


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


class Table(nn.Module):
    """A bigram lookup with fixed logits; counts its forward calls and records its mode on each call."""

    def __init__(self, logits: torch.Tensor):
        super().__init__()
        self.logits = nn.Embedding.from_pretrained(logits)
        self.drop = nn.Dropout(0.5)
        self.calls, self.modes = 0, []

    def forward(self, idx, targets=None):
        self.calls += 1
        self.modes.append(self.training)
        return self.logits(idx), None


def chain(*chars: str) -> torch.Tensor:
    """Logits that make '.' -> chars[0] -> chars[1] -> ... -> '.' certain."""
    logits = torch.full((27, 27), -1e9)
    seq = [0] + [ord(c) - ord("a") + 1 for c in chars] + [0]
    for a, b in zip(seq, seq[1:]):
        logits[a, b] = 0.0
    return logits


def test_a_certain_chain_gives_its_name_and_stops_when_every_row_ended():
    model = Table(chain("e", "m", "a"))
    assert mm_utils.generate_names(model, ITOS, 5, gen(), max_len=15) == ["ema"] * 5
    assert model.calls == 4  # three letters and the '.'


def test_names_are_cut_at_max_len_when_the_model_never_ends():
    logits = torch.full((27, 27), -1e9)
    logits[:, 1] = 0.0  # always 'a'
    model = Table(logits)
    assert mm_utils.generate_names(model, ITOS, 3, gen(), max_len=6) == ["aaaaaa"] * 3
    assert model.calls == 7


def test_top_k_1_and_a_tiny_temperature_are_argmax_decoding():
    g = torch.Generator().manual_seed(1)
    model = Table(torch.randn(27, 27, generator=g) * 3)
    greedy = mm_utils.generate_names(model, ITOS, 20, gen(), max_len=15, top_k=1)
    assert len(set(greedy)) == 1
    assert mm_utils.generate_names(model, ITOS, 20, gen(), max_len=15, temperature=1e-4) == greedy
    row, name = 0, ""
    for _ in range(15):
        row = int(model.logits.weight[row].argmax())
        if row == 0:
            break
        name += ITOS[row]
    assert greedy[0] == name


def test_top_k_never_samples_outside_the_k_largest():
    logits = torch.zeros(27, 27)
    logits[:, 0] = 1.0                      # '.' and 'a', 'b' are the three largest of every row
    logits[:, 1:3] = 2.0
    names = mm_utils.generate_names(Table(logits), ITOS, 200, gen(), max_len=15, top_k=3)
    assert set("".join(names)) <= {"a", "b"} and len(set(names)) > 5


def test_temperature_sharpens_and_flattens():
    logits = torch.zeros(27, 27)
    logits[:, 0] = 3.0                      # ending is likely
    cold = mm_utils.generate_names(Table(logits), ITOS, 300, gen(), max_len=15, temperature=0.5)
    hot = mm_utils.generate_names(Table(logits), ITOS, 300, gen(), max_len=15, temperature=2.0)
    assert sum(map(len, cold)) < sum(map(len, hot))


def test_eval_mode_while_sampling_and_the_mode_is_restored():
    model = Table(chain("a"))
    model.train()
    mm_utils.generate_names(model, ITOS, 2, gen(), max_len=5)
    assert model.modes and not any(model.modes) and model.training
    model.eval()
    mm_utils.generate_names(model, ITOS, 2, gen(), max_len=5)
    assert not model.training


def test_same_seed_same_names_for_a_transformer():
    model = mm_utils.Transformer(27, 16, 16, 2, 1, gen(), dropout=0.2)
    a = mm_utils.generate_names(model, ITOS, 10, gen(), max_len=15, temperature=0.9, top_k=10)
    b = mm_utils.generate_names(model, ITOS, 10, gen(), max_len=15, temperature=0.9, top_k=10)
    assert a == b and all(len(n) <= 15 and "." not in n for n in a) and model.training


@pytest.mark.parametrize("kwargs", [dict(temperature=0.0), dict(temperature=-1.0), dict(top_k=0),
                                    dict(top_k=2.5), dict(num=0), dict(max_len=0)])
def test_bad_arguments_are_rejected(kwargs):
    args = dict(num=3, max_len=15)
    args.update(kwargs)
    num = args.pop("num")
    with pytest.raises(ValueError, match="generate_names"):
        mm_utils.generate_names(Table(chain("a")), ITOS, num, gen(), **args)


def small_transformer(dropout: float = 0.0, n_layer: int = 2) -> mm_utils.Transformer:
    return mm_utils.Transformer(27, 16, 32, 4, n_layer, gen(), dropout=dropout)


def test_block_is_two_pre_layernorm_residual_branches():
    torch.manual_seed(SEED)
    block = mm_utils.Block(32, 4, 16)
    x = torch.randn(3, 10, 32, generator=gen())
    h = x + block.attn(block.ln1(x))
    assert torch.allclose(block(x), h + block.mlp(block.ln2(h)), atol=1e-6)
    assert isinstance(block.mlp[1], nn.GELU) and block.mlp[0].out_features == 4 * 32


def test_transformer_contract_and_loss():
    model = small_transformer()
    X = torch.randint(0, 27, (5, 16), generator=gen())
    Y = torch.randint(0, 27, (5, 16), generator=gen())
    Y[:, 12:] = -1
    logits, loss = model(X, Y)
    assert logits.shape == (5, 16, 27)
    assert torch.allclose(loss, mm_utils.sequence_loss(logits, Y))
    assert model(X[:, :7])[0].shape == (5, 7, 27) and model(X)[1] is None
    with pytest.raises(ValueError, match="block_size"):
        model(torch.zeros((1, 17), dtype=torch.int64))


def test_parameter_count_matches_the_chapter_formula():
    for n_layer, C in ((1, 32), (3, 64)):
        model = mm_utils.Transformer(27, 16, C, 4, n_layer, gen())
        formula = n_layer * (12 * C**2 + 13 * C) + 27 * C + 16 * C + 2 * C + C * 27 + 27
        assert sum(p.numel() for p in model.parameters()) == formula


def test_initialization_gpt2_style():
    model = mm_utils.Transformer(27, 16, 64, 4, 3, gen())
    p = dict(model.named_parameters())
    assert abs(p["wte.weight"].std().item() - 0.02) < 0.002
    assert abs(p["blocks.0.attn.qkv.weight"].std().item() - 0.02) < 0.001
    for name in ("blocks.2.attn.proj.weight", "blocks.1.mlp.2.weight"):
        assert abs(p[name].std().item() - 0.02 / math.sqrt(6)) < 0.0005, name
    assert all(p[n].abs().max() == 0 for n in p if n.endswith("bias"))
    assert torch.equal(p["ln_f.weight"], torch.ones(64)) and torch.equal(p["blocks.0.ln1.weight"], torch.ones(64))
    idx = torch.randint(0, 27, (256, 16), generator=gen())
    logits, loss = model(idx, torch.randint(0, 27, (256, 16), generator=gen()))
    assert logits.std().item() < 0.3 and abs(loss.item() - math.log(27)) < 0.05   # logits start near 0


def test_initialization_is_fixed_by_the_generator():
    a, b = small_transformer(), small_transformer()
    assert all(torch.equal(x, y) for x, y in zip(a.parameters(), b.parameters()))


def test_a_later_character_never_changes_an_earlier_logit():
    model = small_transformer()
    x = torch.randint(1, 27, (2, 16), generator=gen())
    base = model(x)[0]
    for t in (0, 5, 15):
        y = x.clone()
        y[:, t] = (y[:, t] % 26) + 1                                  # another character at position t
        out = model(y)[0]
        assert torch.equal(out[:, :t], base[:, :t]), t
        assert not torch.allclose(out[:, t:], base[:, t:]), t


def test_dropout_is_active_only_in_training_mode():
    model = small_transformer(dropout=0.3)
    x = torch.randint(0, 27, (4, 16), generator=gen())
    model.eval()
    assert torch.equal(model(x)[0], model(x)[0])
    model.train()
    torch.manual_seed(SEED)
    first = model(x)[0]
    assert not torch.equal(first, model(x)[0])                     # a new mask each call
    torch.manual_seed(SEED)
    assert torch.equal(first, model(x)[0])                         # masks come from torch's global generator


# ---------------------------------------------------------------- packing several names into one row


def sequences(*names: str) -> tuple[torch.Tensor, torch.Tensor]:
    stoi = {ch: i for i, ch in ITOS.items()}
    return mm_utils.build_sequences(list(names), stoi, 15)


def test_name_segments_restart_positions_and_block_the_other_names():
    idx = torch.tensor([[0, 1, 2, 0, 3, 0, 0]])       # ".ab" ".c" "." "." (the last two: padding)
    pos, mask = mm_utils.name_segments(idx)
    assert pos.tolist() == [[0, 1, 2, 0, 1, 0, 0]]
    assert mask.shape == (1, 1, 7, 7)
    m = mask[0, 0]
    assert m[2].tolist() == [True, True, True, False, False, False, False]   # "b" sees ".ab", not the next name
    assert m[4].tolist() == [False, False, False, True, True, False, False]  # "c" sees only ".c"
    assert not m.triu(1).any()                                               # never a later position


def test_one_name_per_row_gives_the_plain_causal_mask():
    X, _ = sequences("emma", "ava")
    pos, mask = mm_utils.name_segments(X)
    causal = torch.ones(16, 16, dtype=torch.bool).tril()
    for r, n in enumerate((5, 4)):        # '.' + the name
        assert pos[r, :n].tolist() == list(range(n))
        assert torch.equal(mask[r, 0, :n, :n], causal[:n, :n])


def test_pack_sequences_keeps_every_label_and_fills_rows():
    X, Y = sequences("emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia")
    Xp, Yp = mm_utils.pack_sequences(X, Y, 16, gen())
    assert Xp.shape[1] == 16 and len(Xp) < len(X)
    assert (Yp != -1).sum() == (Y != -1).sum()                      # no label lost or added
    assert sorted(Yp[Yp != -1].tolist()) == sorted(Y[Y != -1].tolist())
    assert ((Yp == -1) <= (Xp == 0)).all()                          # padding: X 0, Y -1
    names = []
    for x, y in zip(Xp.tolist(), Yp.tolist()):                      # every name is '.' + name in X, name + '.' in Y
        t = 0
        while t < 16 and y[t] != -1:
            n = y[t:].index(0) + 1
            assert x[t] == 0 and x[t + 1 : t + n] == y[t : t + n - 1]
            names.append("".join(ITOS[i] for i in y[t : t + n - 1]))
            t += n
    assert sorted(names) == sorted(["emma", "olivia", "ava", "isabella", "sophia", "mia", "charlotte", "amelia"])
    again = mm_utils.pack_sequences(X, Y, 16, gen())
    assert torch.equal(again[0], Xp) and torch.equal(again[1], Yp)  # the order comes from the generator


def test_pack_sequences_rejects_a_row_shorter_than_a_name():
    X, Y = sequences("charlotte")
    with pytest.raises(ValueError, match="row_len"):
        mm_utils.pack_sequences(X, Y, 9, gen())


def test_packed_transformer_equals_the_plain_one_on_single_names():
    X, Y = sequences("emma", "olivia", "ava", "charlotte")
    plain = mm_utils.Transformer(27, 16, 32, 4, 2, gen()).eval()
    packed = mm_utils.Transformer(27, 16, 32, 4, 2, gen(), packed=True).eval()
    with torch.no_grad():
        a, la = plain(X, Y)
        b, lb = packed(X, Y)
    assert torch.equal(a[Y != -1], b[Y != -1]) and la == lb


def test_a_packed_row_scores_each_name_as_if_it_were_alone():
    X, Y = sequences("emma", "olivia", "ava", "isabella", "mia")
    Xp, Yp = mm_utils.pack_sequences(X, Y, 24, gen())
    plain = mm_utils.Transformer(27, 16, 32, 4, 2, gen()).eval()
    packed = mm_utils.Transformer(27, 16, 32, 4, 2, gen(), packed=True).eval()
    with torch.no_grad():
        rows, _ = packed(Xp)
        for r in range(len(Xp)):
            y, t = Yp[r].tolist(), 0
            while t < 24 and y[t] != -1:
                n = y[t:].index(0) + 1
                alone, _ = plain(Xp[r : r + 1, t : t + n])
                assert torch.allclose(rows[r, t : t + n], alone[0], atol=1e-5)
                t += n
        with pytest.raises(ValueError, match="block_size"):
            packed(torch.tensor([[0] + [1] * 16]))      # one name of 17 positions > block_size 16
