"""Benchmark: how much slower the slow paths (the loops the chapters write to make the idea clear) are than
the fast paths (appendix A1's vectorized forms).

Run from the repository root:

    python benchmarks/bench.py            # counting, one training step, sampling, convergence (~1 minute)
    python benchmarks/bench.py --suite    # also time the whole `python -m pytest --nbval` and each file's share
    python benchmarks/bench.py --exact    # convergence really runs chapter 7's per-example form to the threshold
    python benchmarks/bench.py --threads 1   # single-thread comparison (default: torch's default thread count)
    python benchmarks/bench.py --quick    # seconds: first 1000 names, one repeat, convergence only at lr 50
    python benchmarks/bench.py --part2 09 10   # Part II: the lecture's recipe vs the chapter's, dev loss and time

Not a test: it prints tables and judges nothing (tests/test_bench.py runs --quick so that it cannot rot).
When the machine is busy (the header's load average near or above the CPU count), threaded operations wait
for each other and times and ratios are distorted: run it on a quiet machine and compare the median and min
columns. Each pair of forms is measured in the same run: one warm-up, then several repeats, median taken
(an operation too short to time is run several times per sample and averaged). Ratio = slow time / fast
time. Absolute times depend on the machine and its load; ratios are steadier and the only figures fit for
the text.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
import torch.nn.functional as F

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))
sys.path.insert(0, str(ROOT))
import mm_utils  # noqa: E402
from support.chapters import load  # noqa: E402
from support.reference import one_hot_loss  # noqa: E402

SEED = 2147483647
THRESHOLD = 0.005  # convergence: |loss - count model loss| < 0.005 nats
CH07_LR = 50  # chapter 7's learning rate and steps (from notebooks/07_one_hot_net.ipynb)
CH07_STEPS = 1000


# ---------------------------------------------------------------- timing


def measure(fns: list[Callable[[], object]], repeats: int, min_sample: float = 0.02) -> list[tuple[float, float]]:
    """Time a group of forms: each warms up once, then they take turns (A, B, C, A, B, C, ...) for
    ``repeats`` samples each, so that swings in the machine's load fall on every form alike. Returns each
    form's (median, min) in seconds per call. Ratios use the median; a min far below the median means the
    machine was busy (see the header's load average).

    A function faster than ``min_sample`` seconds is called several times per sample and averaged, so the
    timer's resolution does not matter.
    """
    inner = []
    for fn in fns:
        fn()  # warm-up: the first call allocates memory and loads kernels; not counted
        n = 1
        while True:
            t0 = time.perf_counter()
            for _ in range(n):
                fn()
            if time.perf_counter() - t0 >= min_sample or n >= 4096:
                break
            n *= 4
        inner.append(n)
    samples: list[list[float]] = [[] for _ in fns]
    for _ in range(repeats):
        for k, fn in enumerate(fns):
            t0 = time.perf_counter()
            for _ in range(inner[k]):
                fn()
            samples[k].append((time.perf_counter() - t0) / inner[k])
    return [(statistics.median(x), min(x)) for x in samples]


def fmt_time(s: float) -> str:
    if s >= 1:
        return f"{s:8.3f} s "
    if s >= 1e-3:
        return f"{s * 1e3:8.2f} ms"
    return f"{s * 1e6:8.1f} µs"


def table(title: str, rows: list[tuple[str, float, float]], base: float, note: str = "") -> None:
    """rows: (name, median seconds, min seconds). ratio = base / median (speed-up relative to the first row)."""
    print(f"\n## {title}")
    if note:
        print(note)
    print(f"{'':48} {'median':>11} {'min':>11} {'ratio':>9}")
    for name, t, tmin in rows:
        print(f"{name:48} {fmt_time(t):>11} {fmt_time(tmin):>11} {base / t:8.1f}×")


# ---------------------------------------------------------------- 1. counting


# The slow forms are appendix A1's own functions (the chapters' loops as A1 restates them for its timings),
# loaded from the notebook: the bench times what the appendix shows.
A1 = load("A1_vectorization_performance", "count_dict", "count_tensor_loop", "lookup_loss", "row_loss")
dict_loop, tensor_loop = A1["count_dict"], A1["count_tensor_loop"]
lookup_loss, row_loss = A1["lookup_loss"], A1["row_loss"]


def bench_counting(words, stoi, xs, ys, N, repeats) -> dict[str, float]:
    # check first: the three forms count the same matrix
    b = dict_loop(words)
    Nd = torch.zeros((27, 27), dtype=torch.int32)
    for (c1, c2), n in b.items():
        Nd[stoi[c1], stoi[c2]] = n
    assert torch.equal(Nd, N) and torch.equal(tensor_loop(words, stoi), N)
    xj, yj = mm_utils.bigram_indices_joined(words, stoi)
    assert torch.equal(xj, xs) and torch.equal(yj, ys)

    t_dict, t_tens, t_cnt, t_bin, t_idx, t_e2e, t_join, t_fast = measure(
        [
            lambda: dict_loop(words),
            lambda: tensor_loop(words, stoi),
            lambda: mm_utils.count_bigrams(xs, ys),
            lambda: torch.bincount(xs * 27 + ys, minlength=27 * 27),
            lambda: mm_utils.bigram_indices(words, stoi),
            lambda: mm_utils.count_bigrams(*mm_utils.bigram_indices(words, stoi)),
            lambda: mm_utils.bigram_indices_joined(words, stoi),
            lambda: mm_utils.count_bigrams(*mm_utils.bigram_indices_joined(words, stoi)),
        ],
        repeats,
    )
    table(
        f"1. Counting bigrams ({len(words)} names, {xs.numel()} bigrams)",
        [
            ("dict loop, from words (ch02)", *t_dict),
            ("tensor loop N[ix1, ix2] += 1, from words (ch03)", *t_tens),
            ("count_bigrams(xs, ys), xs/ys given", *t_cnt),
            ("  its kernel alone: bincount(xs * 27 + ys)", *t_bin),
            ("  bigram_indices alone (Python loop)", *t_idx),
            ("bigram_indices + count_bigrams, from words", *t_e2e),
            ("  bigram_indices_joined alone (one lookup)", *t_join),
            ("bigram_indices_joined + count_bigrams", *t_fast),
        ],
        t_dict[0],
        "ratio = dict loop / row.  'xs/ys given' = the counting kernel only; 'from words' rows include encoding.",
    )
    print(f"tensor loop / count_bigrams (xs/ys given): {t_tens[0] / t_cnt[0]:.0f}×")
    return {"dict": t_dict[0], "tensor": t_tens[0], "count": t_cnt[0], "e2e": t_e2e[0], "fast_e2e": t_fast[0]}


# ---------------------------------------------------------------- 2. one training step


onehot_loss = one_hot_loss  # chapter 7's way: one-hot -> matmul -> softmax by hand -> mean NLL (support/reference.py)


def sgd_step(lossf: Callable[[torch.Tensor], torch.Tensor], W: torch.Tensor, lr: float) -> float:
    loss = lossf(W)  # forward
    W.grad = None
    loss.backward()  # backward
    W.data += -lr * W.grad  # update
    return loss.item()


def bench_step(xs, ys, N, repeats) -> dict[str, float]:
    g = torch.Generator().manual_seed(SEED)
    W0 = torch.randn((27, 27), generator=g)
    # check: the four forms give the same loss and gradient
    grads, losses = [], []
    for f in (
        lambda W: onehot_loss(W, xs, ys),
        lambda W: lookup_loss(W, xs, ys),
        lambda W: mm_utils.bigram_net_loss(W, xs, ys),
        lambda W: F.cross_entropy(F.embedding(xs, W), ys),
        lambda W: mm_utils.count_loss(W, N),
    ):
        W = W0.clone().requires_grad_()
        loss = f(W)
        loss.backward()
        losses.append(loss.item())
        grads.append(W.grad)
    assert max(losses) - min(losses) < 1e-5 and all(torch.allclose(grads[0], gr, atol=1e-4) for gr in grads)

    # a tiny learning rate: W barely moves over the repeats, so every sample times the same computation
    def make(f):
        W = W0.clone().requires_grad_()
        return lambda: sgd_step(f, W, 1e-3)

    t_oh, t_lk, t_is, t_em, t_cl = measure(
        [
            make(lambda W: onehot_loss(W, xs, ys)),
            make(lambda W: lookup_loss(W, xs, ys)),
            make(lambda W: mm_utils.bigram_net_loss(W, xs, ys)),
            make(lambda W: F.cross_entropy(F.embedding(xs, W), ys)),
            make(lambda W: mm_utils.count_loss(W, N)),
        ],
        repeats,
    )
    table(
        f"2. One training step (forward + backward + update), all {xs.numel()} examples, "
        f"{torch.get_num_threads()} threads",
        [
            ("one-hot @ W + manual softmax/NLL (ch07)", *t_oh),
            ("W[xs] + F.cross_entropy (ch08)", *t_lk),
            ("W.index_select(0, xs) + F.cross_entropy (bigram_net_loss)", *t_is),
            ("F.embedding(xs, W) + F.cross_entropy", *t_em),
            ("count_loss(W, N): 27×27 work, same gradient", *t_cl),
        ],
        t_oh[0],
        "ratio = one-hot step / row.  All give the same loss and gradient (checked above).\n"
        "W[xs]'s backward adds 228146 rows into W.grad's 27 rows; with >1 thread PyTorch does it with\n"
        "atomic adds that contend for the same 729 floats. index_select and F.embedding are the same lookup\n"
        "with different backward kernels (mm_utils.bigram_net_loss uses index_select). Compare with --threads 1.",
    )
    return {"onehot": t_oh[0], "lookup": t_lk[0], "index_select": t_is[0], "embedding": t_em[0], "count": t_cl[0]}


# ---------------------------------------------------------------- 3. sampling


def sample_names_inverse_cdf(P: torch.Tensor, itos: dict[int, str], num: int, g: torch.Generator) -> list[str]:
    """Batched sampling that draws with a uniform number + cumulative probabilities + searchsorted (inverse
    transform sampling) instead of multinomial."""
    return mm_utils.sample_names_batched(P, itos, num, g, inverse_cdf=True)


def bench_sampling(P, itos, repeats, n_seq=1000, n_batch=20000) -> dict[str, float]:
    g = torch.Generator().manual_seed(SEED)
    # rough check: the three samplers give similar mean name lengths; the strict test is in tests/test_fast_paths.py
    means = [
        statistics.fmean(map(len, f(P, itos, 4000, g)))
        for f in (mm_utils.sample_names, mm_utils.sample_names_batched, sample_names_inverse_cdf)
    ]
    assert max(means) - min(means) < 0.3, means
    t_seq, t_bat, t_inv = measure(
        [
            lambda: mm_utils.sample_names(P, itos, n_seq, g),
            lambda: mm_utils.sample_names_batched(P, itos, n_batch, g),
            lambda: sample_names_inverse_cdf(P, itos, n_batch, g),
        ],
        repeats,
    )
    # per-name time, so that the ratio is the ratio of names per second
    rows = [
        (f"sample_names, one at a time ({n_seq} names)", t_seq[0] / n_seq, t_seq[1] / n_seq),
        (f"sample_names_batched, multinomial ({n_batch})", t_bat[0] / n_batch, t_bat[1] / n_batch),
        (f"batched, inverse CDF (searchsorted) ({n_batch})", t_inv[0] / n_batch, t_inv[1] / n_batch),
    ]
    table("3. Sampling names (time per name)", rows, rows[0][1], "ratio = names per second relative to sample_names.")
    for name, t, _ in rows:
        print(f"  {name:48} {1 / t:12,.0f} names/s")
    return {"seq": rows[0][1], "batched": rows[1][1], "inverse_cdf": rows[2][1]}


# ---------------------------------------------------------------- 4. test suite


def bench_suite() -> None:
    print("\n## 4. The whole test suite: python -m pytest --nbval --durations=0")
    cmd = [sys.executable, "-m", "pytest", "--nbval", "-q", "--durations=0", "--durations-min=0"]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    per_file: dict[str, float] = {}
    for line in proc.stdout.splitlines():
        m = re.match(r"\s*([\d.]+)s\s+(setup|call|teardown)\s+(\S+?)::", line)
        if m:
            per_file[m.group(3)] = per_file.get(m.group(3), 0.0) + float(m.group(1))
    lines = proc.stdout.splitlines()
    summary = next((ln for ln in reversed(lines) if re.search(r"\d+ (passed|failed|error)", ln)), "?")
    print(f"wall time {wall:.1f} s (exit code {proc.returncode}); pytest: {summary.strip('= ')}")
    for ln in lines:
        if ln.startswith(("FAILED", "ERROR")):
            print("  " + ln[:150])
    accounted = sum(per_file.values())
    print(f"{'file':48} {'seconds':>8} {'share':>6}")
    for f, s in sorted(per_file.items(), key=lambda kv: -kv[1]):
        print(f"{f:48} {s:8.1f} {s / wall:6.1%}")
    print(f"{'(collection, imports, start-up)':48} {wall - accounted:8.1f} {(wall - accounted) / wall:6.1%}")


# ---------------------------------------------------------------- 5. convergence


def train_until(
    lossf: Callable[[torch.Tensor], torch.Tensor],
    N: torch.Tensor,
    target: float,
    lr: float,
    max_steps: int,
    record: int | None = None,
) -> tuple[int | None, float, float | None]:
    """Gradient descent from chapter 7's initialization until the mean NLL on the data (count_loss) is within
    THRESHOLD of target.

    Returns (steps needed or None, seconds, the loss before step ``record``).
    """
    g = torch.Generator().manual_seed(SEED)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    at_record = None
    t0 = time.perf_counter()
    for k in range(max_steps + 1):
        with torch.no_grad():
            data_loss = mm_utils.count_loss(W, N).item()
        if k == record:
            at_record = data_loss
        if abs(data_loss - target) < THRESHOLD and record is None:
            return k, time.perf_counter() - t0, at_record
        if not data_loss < 10:  # diverged
            return None, time.perf_counter() - t0, at_record
        if k < max_steps:
            sgd_step(lossf, W, lr)
    return None, time.perf_counter() - t0, at_record


def train_onehot_until(xs, ys, target: float, lr: float, max_steps: int) -> tuple[int | None, float]:
    """Chapter 7 as written: each step does the one-hot forward, backward and update on all 228146 examples;
    the loss is the number the training loop prints."""
    g = torch.Generator().manual_seed(SEED)
    W = torch.randn((27, 27), generator=g, requires_grad=True)
    t0 = time.perf_counter()
    for k in range(max_steps + 1):
        loss = onehot_loss(W, xs, ys)
        if abs(loss.item() - target) < THRESHOLD:
            return k, time.perf_counter() - t0
        W.grad = None
        loss.backward()
        W.data += -lr * W.grad
    return None, time.perf_counter() - t0


def bench_convergence(xs, ys, N, P, step_times, exact: bool, lrs: list[float] | None = None) -> None:
    target = mm_utils.avg_nll(P, xs, ys)  # the (unsmoothed) count model's loss = the minimum of this loss function
    print(f"\n## 5. Convergence: steps to reach the count model's loss {target:.4f} (threshold {THRESHOLD} nats), "
          "chapter 7's init")
    lossf_count = lambda W: mm_utils.count_loss(W, N)  # noqa: E731
    lossf_rows = lambda W: row_loss(W, P)  # noqa: E731

    _, _, at_100 = train_until(lossf_count, N, target, CH07_LR, 100, record=100)
    _, _, at_budget = train_until(lossf_count, N, target, CH07_LR, CH07_STEPS, record=CH07_STEPS)
    print(f"chapter 7 (lr {CH07_LR}): after 100 steps {at_100:.4f} (gap {at_100 - target:+.4f}); "
          f"after its budget of {CH07_STEPS} steps {at_budget:.4f} (gap {at_budget - target:+.4f})")

    print("\nsteps to |loss - count loss| < 0.005 (same lr grid for both; '-' = diverges or >5000 steps)")
    lrs = lrs or [10, 25, 50, 75, 100, 150, 200]
    results = {}
    print(f"{'formulation':40}" + "".join(f"{'lr ' + str(lr):>9}" for lr in lrs))
    formulations = [("per example, count-weighted rows (ch07)", lossf_count),
                    ("per row, each row weighted equally", lossf_rows)]
    for name, f in formulations:
        cells = []
        for lr in lrs:
            steps, secs, _ = train_until(f, N, target, lr, 5000)
            results[(name, lr)] = (steps, secs)
            cells.append(f"{steps if steps is not None else '-':>9}")
        print(f"{name:40}" + "".join(cells))

    ch_steps, ch_secs = results[("per example, count-weighted rows (ch07)", CH07_LR)]
    ch_best_lr = min((lr for lr in lrs if results[("per example, count-weighted rows (ch07)", lr)][0] is not None),
                     key=lambda lr: results[("per example, count-weighted rows (ch07)", lr)][0])
    chb_steps, chb_secs = results[("per example, count-weighted rows (ch07)", ch_best_lr)]
    best_lr = min((lr for lr in lrs if results[("per row, each row weighted equally", lr)][0] is not None),
                  key=lambda lr: results[("per row, each row weighted equally", lr)][0])
    rw_steps, rw_secs = results[("per row, each row weighted equally", best_lr)]
    print(f"\n{'formulation':64} {'steps':>6} {'seconds':>10}")
    if exact:
        oh_steps, oh_secs = train_onehot_until(xs, ys, target, CH07_LR, 2000)
        print(f"{'ch07 as written: one-hot, all examples, lr 50 (run)':64} {oh_steps!s:>6} {oh_secs:10.2f}")
    else:
        oh_secs = ch_steps * step_times["onehot"]
        print(f"{'ch07 as written: one-hot, all examples, lr 50 (steps × step time)':64} {ch_steps:>6} "
              f"{oh_secs:10.2f}")
    print(f"{'same loss with W[xs] + F.cross_entropy (steps × step time)':64} {ch_steps:>6} "
          f"{ch_steps * step_times['lookup']:10.2f}")
    print(f"{'same loss with count_loss(W, N), lr 50 (run)':64} {ch_steps:>6} {ch_secs:10.3f}")
    print(f"{f'same loss with count_loss(W, N), best lr on the grid ({ch_best_lr}) (run)':64} {chb_steps:>6} "
          f"{chb_secs:10.3f}")
    print(f"{f'per-row weighting, best lr on the grid ({best_lr}), 27×27 work (run)':64} {rw_steps:>6} {rw_secs:10.3f}")
    print(f"steps: ch07 at lr {CH07_LR} / per-row = {ch_steps / rw_steps:.1f}×, "
          f"best / best = {chb_steps / rw_steps:.1f}×;  "
          f"seconds: ch07 one-hot / per-row = {oh_secs / rw_secs:,.0f}×")


# ---------------------------------------------------------------- main


def main() -> None:
    if "--part2" in sys.argv[1:]:  # Part II benchmark (benchmarks/bench_part2.py) gets the other arguments
        import bench_part2

        argv = [a for a in sys.argv[1:] if a != "--part2"]
        raise SystemExit(bench_part2.main(argv))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="repeats per measurement (median taken), default 7")
    ap.add_argument("--suite", action="store_true", help="also time the whole pytest --nbval suite (slow)")
    ap.add_argument("--exact", action="store_true", help="convergence runs chapter 7's one-hot form (slow)")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads; default 0 = leave torch's default")
    ap.add_argument("--quick", action="store_true", help="smoke run in seconds: first 1000 names, one repeat each")
    ap.add_argument("--part2", action="store_true", help="Part II: --part2 NN [NN ...] [--only RECIPE [RECIPE ...]]")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.repeats = 1

    print("# makemore-zh benchmark")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, python {platform.python_version()}, "
          f"{platform.machine()}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    words = mm_utils.load_words()
    stoi, itos = mm_utils.build_vocab(words)  # the vocabulary of all names: a subset also gets 27 characters
    if args.quick:
        words = words[:1000]
        print(f"--quick: first {len(words)} names, 1 repeat: the figures only show that every section runs")
    xs, ys = mm_utils.bigram_indices(words, stoi)
    N = mm_utils.count_bigrams(xs, ys)
    P = mm_utils.normalize_rows(N)

    bench_counting(words, stoi, xs, ys, N, args.repeats)
    step_times = bench_step(xs, ys, N, args.repeats)
    bench_sampling(P, itos, args.repeats, *((50, 500) if args.quick else ()))
    if args.suite:
        bench_suite()
    else:
        print("\n## 4. Test suite: skipped (add --suite)")
    bench_convergence(xs, ys, N, P, step_times, args.exact, [50] if args.quick else None)


if __name__ == "__main__":
    main()
