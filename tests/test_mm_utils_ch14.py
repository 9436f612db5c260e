"""Chapter 14's shared code: RNNCell, RecurrentLM, hidden_grad_norms."""

import pytest
import torch
import torch.nn as nn

import mm_utils

SEED = 2147483647


def gen() -> torch.Generator:
    return torch.Generator().manual_seed(SEED)


def test_rnn_cell_equals_torch_rnn_with_the_same_weights():
    cell = mm_utils.RNNCell(5, 7, gen())
    ref = nn.RNN(5, 7, batch_first=True)
    with torch.no_grad():
        ref.weight_ih_l0.copy_(cell.W_xh.T)   # torch stores (out, in)
        ref.weight_hh_l0.copy_(cell.W_hh.T)
        ref.bias_ih_l0.copy_(cell.b)
        ref.bias_hh_l0.zero_()                # torch has two biases; ours is their sum
    x = torch.randn(3, 4, 5, generator=gen())
    h = torch.zeros(3, 7)
    hs = []
    for t in range(4):
        h = cell(x[:, t], h)
        hs.append(h)
    out, _ = ref(x)
    assert torch.allclose(torch.stack(hs, 1), out, atol=1e-6)


def test_rnn_cell_draws_its_weights_from_the_generator_within_torch_bounds():
    a, b = mm_utils.RNNCell(4, 9, gen()), mm_utils.RNNCell(4, 9, gen())
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert max(p.abs().max().item() for p in a.parameters()) <= 1 / 9**0.5


def test_recurrent_lm_follows_the_book_contract_and_ignores_padding():
    g = gen()
    model = mm_utils.RecurrentLM(27, 8, 16, mm_utils.RNNCell(8, 16, g), g)
    X = torch.tensor([[0, 5, 13, 13, 1, 0], [0, 1, 2, 0, 0, 0]])
    Y = torch.tensor([[5, 13, 13, 1, 0, -1], [1, 2, 0, -1, -1, -1]])
    logits, loss = model(X, Y)
    assert logits.shape == (2, 6, 27)
    assert loss.item() == pytest.approx(mm_utils.sequence_loss(logits, Y).item())
    assert model(X)[1] is None
    # position t only sees X[:, :t+1]: changing a later character leaves earlier logits unchanged
    X2 = X.clone()
    X2[:, 4] = 7
    assert torch.equal(model(X2)[0][:, :4], logits[:, :4])
    # the start state is a learned parameter that receives a gradient
    loss.backward()
    assert model.h0.grad is not None and model.h0.grad.abs().sum() > 0


def test_hidden_grad_norms_shape_and_rejected_inputs():
    g = gen()
    model = mm_utils.RecurrentLM(27, 8, 16, mm_utils.RNNCell(8, 16, g), g)
    X = torch.randint(1, 27, (4, 10), generator=g)
    Y = torch.randint(1, 27, (4, 10), generator=g)
    norms = mm_utils.hidden_grad_norms(model, X, Y, 6)
    assert norms.shape == (7,) and (norms > 0).all()
    assert all(p.grad is None for p in model.parameters())     # gradients are cleared afterwards
    # the last state is closest to the loss: with this small init, the gradient shrinks going back in time
    assert norms[-1] > norms[0]
    with pytest.raises(ValueError, match="t_loss"):
        mm_utils.hidden_grad_norms(model, X, Y, 10)
    Y[0, 6] = -1
    with pytest.raises(ValueError, match="-1"):
        mm_utils.hidden_grad_norms(model, X, Y, 6)
