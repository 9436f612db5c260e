"""Chapter 11's timer in mm_utils: best_time returns the fastest of its runs, without building a graph."""

from __future__ import annotations

import time

import torch

import mm_utils


def test_best_time_is_the_minimum_over_the_repeats():
    delays = iter([0.03, 0.001, 0.02])
    calls = []

    def fn():
        calls.append(torch.is_grad_enabled())
        time.sleep(next(delays))

    t = mm_utils.best_time(fn, 3)
    assert calls == [False, False, False]  # three runs, each under no_grad
    assert 0.001 <= t < 0.015
