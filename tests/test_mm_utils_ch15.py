"""Chapter 15's shared code: GRUCell (torch.nn.GRU's convention, forward(x, h) -> h, usable inside RecurrentLM)."""

import pytest
import torch
import torch.nn as nn

import mm_utils

SEED = 2147483647


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def copy_into_torch(cell: mm_utils.GRUCell, gru: nn.GRU) -> None:
    with torch.no_grad():
        gru.weight_ih_l0.copy_(cell.W_ih.T)
        gru.weight_hh_l0.copy_(cell.W_hh.T)
        gru.bias_ih_l0.copy_(cell.b_ih)
        gru.bias_hh_l0.copy_(cell.b_hh)


def test_a_sequence_through_the_cell_equals_torch_gru():
    g = gen()
    cell = mm_utils.GRUCell(5, 7, g)
    gru = nn.GRU(5, 7, batch_first=True)
    copy_into_torch(cell, gru)
    x, h = torch.randn((3, 6, 5), generator=g), torch.randn((3, 7), generator=g)
    with torch.no_grad():
        ref, h_n = gru(x, h.unsqueeze(0))
        outs = []
        for t in range(6):
            h = cell(x[:, t], h)
            outs.append(h)
    assert torch.allclose(torch.stack(outs, dim=1), ref, atol=1e-6)
    assert torch.allclose(h, h_n[0], atol=1e-6)


def test_the_gates_follow_torch_conventions():
    """Reset gate on h W_hn + b_hn (after the product); z weights the old state: z = 1 keeps h exactly."""
    g = gen()
    cell = mm_utils.GRUCell(4, 3, g)
    x, h = torch.randn((2, 4), generator=g), torch.randn((2, 3), generator=g)
    with torch.no_grad():
        cell.b_ih[3:6] = 100.0  # update gate saturated at 1
        assert torch.allclose(cell(x, h), h, atol=1e-6)
        cell.b_ih[3:6] = -100.0  # z = 0: the new state is the candidate n
        cell.b_ih[0:3] = -100.0  # r = 0: n ignores h W_hn + b_hn entirely
        n = torch.tanh(x @ cell.W_ih[:, 6:] + cell.b_ih[6:])
        assert torch.allclose(cell(x, h), n, atol=1e-6)


def test_shapes_parameters_and_initialisation():
    cell = mm_utils.GRUCell(32, 128, gen())
    assert tuple(cell.W_ih.shape) == (32, 384) and tuple(cell.W_hh.shape) == (128, 384)
    assert sum(p.numel() for p in cell.parameters()) == 3 * (32 * 128 + 128 * 128 + 2 * 128)
    bound = 1 / 128 ** 0.5
    for p in cell.parameters():
        assert p.abs().max() <= bound and p.abs().max() > 0.9 * bound
    assert all(torch.equal(a, b) for a, b in zip(cell.parameters(), mm_utils.GRUCell(32, 128, gen()).parameters()))
    assert cell(torch.zeros(5, 32), torch.zeros(5, 128)).shape == (5, 128)


def test_in_recurrent_lm_with_gradients():
    g = gen()
    model = mm_utils.RecurrentLM(27, 8, 16, mm_utils.GRUCell(8, 16, g), g)
    idx = torch.randint(0, 27, (4, 16), generator=g)
    targets = torch.randint(0, 27, (4, 16), generator=g)
    logits, loss = model(idx, targets)
    assert logits.shape == (4, 16, 27) and loss.item() == pytest.approx(3.3, abs=0.3)
    norms = mm_utils.hidden_grad_norms(model, idx, targets, 10)
    assert norms.shape == (11,) and (norms > 0).all()
    assert all(p.grad is None for p in model.parameters())


def test_bad_input_sizes_fail():
    cell = mm_utils.GRUCell(5, 7, gen())
    with pytest.raises(RuntimeError):
        cell(torch.zeros(2, 6), torch.zeros(2, 7))
    with pytest.raises(RuntimeError):
        cell(torch.zeros(2, 5), torch.zeros(2, 8))
