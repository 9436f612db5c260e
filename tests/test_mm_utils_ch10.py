"""Chapter 10's layers: Linear, BatchNorm1d, Tanh compared with torch.nn on random input (2-D input; 3-D in
chapter 12's tests)."""


import pytest
import torch
from torch import nn

import mm_utils


def gen(seed: int = 2147483647) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def torch_linear_like(layer: mm_utils.Linear) -> nn.Linear:
    """An nn.Linear with the same weights (it stores (fan_out, fan_in), our transpose)."""
    fan_in, fan_out = layer.weight.shape
    ref = nn.Linear(fan_in, fan_out, bias=layer.bias is not None)
    with torch.no_grad():
        ref.weight.copy_(layer.weight.T)
        if layer.bias is not None:
            ref.bias.copy_(layer.bias)
    return ref


# ---------------------------------------------------------------- Linear


@pytest.mark.parametrize("bias", [True, False])
def test_linear_matches_torch_forward_and_backward(bias):
    g = gen()
    layer = mm_utils.Linear(7, 5, bias=bias, g=g)
    ref = torch_linear_like(layer)
    x = torch.randn((11, 7), generator=g)
    for p in layer.parameters():
        p.requires_grad = True
    out = layer(x)
    assert out is layer.out and out.shape == (11, 5)
    torch.testing.assert_close(out, ref(x))
    upstream = torch.randn((11, 5), generator=g)
    (out * upstream).sum().backward()
    (ref(x) * upstream).sum().backward()
    torch.testing.assert_close(layer.weight.grad, ref.weight.grad.T)
    if bias:
        torch.testing.assert_close(layer.bias.grad, ref.bias.grad)
    assert len(layer.parameters()) == (2 if bias else 1)


def test_linear_init_is_randn_over_sqrt_fan_in_and_zero_bias():
    layer = mm_utils.Linear(30, 200, g=gen())
    expected = torch.randn((30, 200), generator=gen()) / 30**0.5
    torch.testing.assert_close(layer.weight, expected)
    assert torch.equal(layer.bias, torch.zeros(200))
    # Kaiming's scale 1/sqrt(fan_in): unit-variance input gives about unit-variance output
    x = torch.randn((2000, 30), generator=gen(1))
    assert abs(layer(x).std().item() - 1.0) < 0.1


def test_linear_same_seed_same_weights_and_g_is_used():
    a = mm_utils.Linear(4, 3, g=gen(5))
    b = mm_utils.Linear(4, 3, g=gen(5))
    c = mm_utils.Linear(4, 3, g=gen(6))
    assert torch.equal(a.weight, b.weight) and not torch.equal(a.weight, c.weight)


# ---------------------------------------------------------------- Tanh


def test_tanh_matches_torch_and_has_no_parameters():
    x = torch.randn((6, 9), generator=gen()) * 3
    layer = mm_utils.Tanh()
    out = layer(x)
    assert out is layer.out
    torch.testing.assert_close(out, nn.Tanh()(x))
    assert layer.parameters() == []


# ---------------------------------------------------------------- BatchNorm1d


def run_both(bn, ref, batches):
    for xb in batches:
        out = bn(xb)
        assert out is bn.out
        torch.testing.assert_close(out, ref(xb), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("momentum", [0.1, 0.001])
def test_batchnorm_train_mode_and_running_stats_match_torch_after_updates(momentum):
    g = gen()
    bn = mm_utils.BatchNorm1d(20, momentum=momentum)
    ref = nn.BatchNorm1d(20, momentum=momentum)
    batches = [torch.randn((32, 20), generator=g) * (k + 1) + k for k in range(5)]
    with torch.no_grad():
        run_both(bn, ref, batches)
    assert bn.training
    torch.testing.assert_close(bn.running_mean, ref.running_mean, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(bn.running_var, ref.running_var, atol=1e-5, rtol=1e-5)


def test_batchnorm_normalizes_with_biased_and_stores_unbiased_variance():
    x = torch.randn((8, 4), generator=gen()) * 2 + 3
    bn = mm_utils.BatchNorm1d(4, momentum=1.0)  # momentum 1: the running statistics are this batch's statistics
    out = bn(x)
    expected = (x - x.mean(0)) / torch.sqrt(x.var(0, unbiased=False) + bn.eps)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(bn.running_var, x.var(0, unbiased=True))
    torch.testing.assert_close(bn.running_mean, x.mean(0))
    # after normalization: every column has mean 0 and biased variance about 1 (eps makes it slightly less)
    torch.testing.assert_close(out.mean(0), torch.zeros(4), atol=1e-6, rtol=0)
    assert ((out.var(0, unbiased=False) - 1).abs() < 1e-4).all()


def test_batchnorm_eval_mode_matches_torch_and_ignores_the_batch():
    g = gen()
    bn, ref = mm_utils.BatchNorm1d(10), nn.BatchNorm1d(10)
    with torch.no_grad():
        run_both(bn, ref, [torch.randn((16, 10), generator=g) * 2 - 1 for _ in range(3)])
        bn.training = False
        ref.eval()
        mean_before, var_before = bn.running_mean.clone(), bn.running_var.clone()
        x = torch.randn((5, 10), generator=g)
        torch.testing.assert_close(bn(x), ref(x), atol=1e-5, rtol=1e-5)
        # inference mode: running statistics stay, each example's output does not depend on the rest of the batch
        assert torch.equal(bn.running_mean, mean_before) and torch.equal(bn.running_var, var_before)
        torch.testing.assert_close(bn(x[:1]), bn(x)[:1])


def test_batchnorm_gamma_beta_gradients_match_torch():
    g = gen()
    bn, ref = mm_utils.BatchNorm1d(6), nn.BatchNorm1d(6)
    with torch.no_grad():
        bn.gamma = torch.rand(6, generator=g) + 0.5
        bn.beta = torch.randn(6, generator=g)
        ref.weight.copy_(bn.gamma)
        ref.bias.copy_(bn.beta)
    for p in bn.parameters():
        p.requires_grad = True
    x = (torch.randn((12, 6), generator=g) * 3).requires_grad_()
    x_ref = x.detach().clone().requires_grad_()
    upstream = torch.randn((12, 6), generator=g)
    (bn(x) * upstream).sum().backward()
    (ref(x_ref) * upstream).sum().backward()
    torch.testing.assert_close(bn.gamma.grad, ref.weight.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(bn.beta.grad, ref.bias.grad, atol=1e-5, rtol=1e-5)
    torch.testing.assert_close(x.grad, x_ref.grad, atol=1e-5, rtol=1e-5)
    assert bn.parameters() == [bn.gamma, bn.beta]


def test_batchnorm_eps_keeps_a_constant_column_finite():
    bn = mm_utils.BatchNorm1d(3)
    x = torch.full((32, 3), 0.5)  # variance 0 (the mean of 0.5s is exactly 0.5 in floating point too)
    out = bn(x)
    assert torch.isfinite(out).all()
    assert torch.equal(out, torch.zeros(32, 3))
    assert torch.isnan((x - x.mean(0)) / x.var(0, unbiased=False).sqrt()).all()  # without eps it is 0/0


def test_preceding_bias_gets_zero_gradient_through_batchnorm():
    """Chapter 10: a bias before BatchNorm is cancelled by the mean subtraction: its gradient is 0."""
    g = gen()
    lin, bn = mm_utils.Linear(8, 5, g=g), mm_utils.BatchNorm1d(5)
    lin.bias = torch.randn(5, generator=g)
    for p in lin.parameters():
        p.requires_grad = True
    x = torch.randn((16, 8), generator=g)
    (bn(lin(x)) * torch.randn((16, 5), generator=g)).sum().backward()
    assert lin.bias.grad.abs().max() < 1e-5
    assert lin.weight.grad.abs().max() > 1e-2


def test_deep_stack_matches_torch_sequential_in_train_and_eval_mode():
    g = gen()
    ours = [mm_utils.Linear(12, 16, bias=False, g=g), mm_utils.BatchNorm1d(16), mm_utils.Tanh(),
            mm_utils.Linear(16, 4, g=g)]
    ref = nn.Sequential(torch_linear_like(ours[0]), nn.BatchNorm1d(16), nn.Tanh(), torch_linear_like(ours[3]))

    def forward(x):
        for layer in ours:
            x = layer(x)
        return x

    with torch.no_grad():
        for _ in range(3):
            xb = torch.randn((24, 12), generator=g)
            torch.testing.assert_close(forward(xb), ref(xb), atol=1e-5, rtol=1e-5)
        ours[1].training = False
        ref.eval()
        xb = torch.randn((7, 12), generator=g)
        torch.testing.assert_close(forward(xb), ref(xb), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("scale", [0.01, 0.003])
def test_batchnorm_matches_torch_on_a_small_input_scale(scale):
    """eps belongs inside the square root: at input std 1 moving it outside changes the output by ~1e-5,
    at std 0.01 by about 5 %, so the comparison with torch.nn also runs at small scales."""
    g = gen()
    bn, ref = mm_utils.BatchNorm1d(8), nn.BatchNorm1d(8)
    with torch.no_grad():
        for _ in range(3):
            xb = torch.randn((64, 8), generator=g) * scale
            torch.testing.assert_close(bn(xb), ref(xb), atol=1e-4, rtol=1e-4)
        bn.training = False
        ref.eval()
        xb = torch.randn((16, 8), generator=g) * scale
        torch.testing.assert_close(bn(xb), ref(xb), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(bn.running_var, ref.running_var, atol=1e-9, rtol=1e-5)


def test_batchnorm_running_statistics_are_outside_the_graph():
    """A training-mode call on an input that requires grad must not chain the running buffers into the
    graph (otherwise every step keeps the previous step's graph alive: memory grows with training)."""
    bn = mm_utils.BatchNorm1d(5)
    for p in bn.parameters():
        p.requires_grad = True
    for _ in range(2):
        x = torch.randn((10, 5), generator=gen()).requires_grad_()
        bn(x).sum().backward()
    for buf in (bn.running_mean, bn.running_var):
        assert not buf.requires_grad and buf.grad_fn is None
    assert not torch.equal(bn.running_mean, torch.zeros(5))  # they were updated
