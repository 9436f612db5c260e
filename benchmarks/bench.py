"""性能基准：慢路径（各章为了讲清楚而写的循环）与快路径（附录 A1 的向量化写法）的时间之比。

运行（在仓库根目录）：

    python benchmarks/bench.py            # 计数、训练一步、采样、收敛（约 1 分钟）
    python benchmarks/bench.py --suite    # 另外计时整个 `python -m pytest --nbval` 及每个文件的占比
    python benchmarks/bench.py --exact    # 收敛部分真的用第 7 章逐样本的写法跑到阈值（约 2–3 分钟）
    python benchmarks/bench.py --threads 1   # 单线程对照（默认用 torch 的默认线程数）
    python benchmarks/bench.py --quick    # 几秒钟：前 1000 个名字、每项测一次、收敛只试 lr 50（tests/test_bench.py）
    python benchmarks/bench.py --part2 09 10   # 第二部分：讲座的训练方案与本章方案在同一划分上的 dev 损失与时间

这不是测试：它只打印表格，不判断通过与否。机器忙的时候（表头的 load average 接近或超过 CPU 数），
多线程的运算会互相等待，时间和比值都会失真：请在空闲时运行，并对照 median 与 min 两列。
每一对写法在同一次运行里测量：先热身一次，再重复若干次取中位数
（一次太短的操作在每个样本里连续运行多次再平均）。比值 = 慢路径时间 / 快路径时间。
绝对时间取决于机器和当时的负载；比值更稳定，也只有比值适合写进正文。
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
from support.reference import one_hot_loss  # noqa: E402

SEED = 2147483647
THRESHOLD = 0.005  # 收敛：|loss - 计数模型的损失| < 0.005 nats
CH07_LR = 50  # 第 7 章的学习率与训练步数（读自 notebooks/07_one_hot_net.ipynb）
CH07_STEPS = 1000


# ---------------------------------------------------------------- timing


def measure(fns: list[Callable[[], object]], repeats: int, min_sample: float = 0.02) -> list[tuple[float, float]]:
    """测量一组写法：每个先热身一次；然后轮流测（A, B, C, A, B, C, ...）各 ``repeats`` 个样本，
    使机器负载的起伏同样落在每种写法上。返回每种写法的 (中位数, 最小值)（秒/次）。比值用中位数算；
    最小值与中位数差得多，说明测量时机器很忙（看表头的 load average）。

    一次调用短于 ``min_sample`` 秒的函数，在每个样本里连续调用多次再平均，避免计时器分辨率的影响。
    """
    inner = []
    for fn in fns:
        fn()  # 热身：第一次调用要分配内存、加载内核，不算
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
    """rows: (名称, 中位数秒, 最小值秒)。ratio = base / 中位数（相对第一行的加速比）。"""
    print(f"\n## {title}")
    if note:
        print(note)
    print(f"{'':48} {'median':>11} {'min':>11} {'ratio':>9}")
    for name, t, tmin in rows:
        print(f"{name:48} {fmt_time(t):>11} {fmt_time(tmin):>11} {base / t:8.1f}×")


# ---------------------------------------------------------------- 1. counting


def dict_loop(words: list[str]) -> dict[tuple[str, str], int]:
    """第 2 章：用字典数二元组。"""
    b: dict[tuple[str, str], int] = {}
    for w in words:
        chs = ["<S>"] + list(w) + ["<E>"]
        for c1, c2 in zip(chs, chs[1:]):
            bigram = (c1, c2)
            b[bigram] = b.get(bigram, 0) + 1
    return b


def tensor_loop(words: list[str], stoi: dict[str, int]) -> torch.Tensor:
    """第 3 章：逐个二元组 ``N[ix1, ix2] += 1``。"""
    N = torch.zeros((27, 27), dtype=torch.int32)
    for w in words:
        chs = ["."] + list(w) + ["."]
        for ch1, ch2 in zip(chs, chs[1:]):
            N[stoi[ch1], stoi[ch2]] += 1
    return N


def bench_counting(words, stoi, xs, ys, N, repeats) -> dict[str, float]:
    # 先核对：三种写法数出的是同一个矩阵
    b = dict_loop(words)
    tok = {"<S>": 0, "<E>": 0, **{c: i for c, i in stoi.items() if c != "."}}
    Nd = torch.zeros((27, 27), dtype=torch.int32)
    for (c1, c2), n in b.items():
        Nd[tok[c1], tok[c2]] = n
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
        f"1. 数二元组（{len(words)} 个名字，{xs.numel()} 个二元组）",
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


def lookup_loss(W: torch.Tensor, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
    """行查找 W[xs] + F.cross_entropy：第 8 章讲的写法。"""
    return F.cross_entropy(W[xs], ys)


def sgd_step(lossf: Callable[[torch.Tensor], torch.Tensor], W: torch.Tensor, lr: float) -> float:
    loss = lossf(W)  # 前向
    W.grad = None
    loss.backward()  # 反向
    W.data += -lr * W.grad  # 更新
    return loss.item()


def bench_step(xs, ys, N, repeats) -> dict[str, float]:
    g = torch.Generator().manual_seed(SEED)
    W0 = torch.randn((27, 27), generator=g)
    # 核对：四种写法给出同一个损失和梯度
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

    # 学习率很小，重复多次时 W 几乎不变，每次测的都是同样的计算
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
        f"2. 训练一步（前向 + 反向 + 更新），全部 {xs.numel()} 个样本，{torch.get_num_threads()} 个线程",
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
    """批量采样，每步用“均匀随机数 + 累积概率 + searchsorted”（逆变换采样）代替 multinomial。"""
    return mm_utils.sample_names_batched(P, itos, num, g, inverse_cdf=True)


def bench_sampling(P, itos, repeats, n_seq=1000, n_batch=20000) -> dict[str, float]:
    g = torch.Generator().manual_seed(SEED)
    # 核对（粗略）：三种采样器的平均名字长度相近；严格的分布检验在 tests/test_fast_paths.py
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
    # 换算成“每个名字的时间”，比值就是每秒名字数之比
    rows = [
        (f"sample_names, one at a time ({n_seq} names)", t_seq[0] / n_seq, t_seq[1] / n_seq),
        (f"sample_names_batched, multinomial ({n_batch})", t_bat[0] / n_batch, t_bat[1] / n_batch),
        (f"batched, inverse CDF (searchsorted) ({n_batch})", t_inv[0] / n_batch, t_inv[1] / n_batch),
    ]
    table("3. 采样名字（时间 = 每个名字）", rows, rows[0][1], "ratio = names per second relative to sample_names.")
    for name, t, _ in rows:
        print(f"  {name:48} {1 / t:12,.0f} names/s")
    return {"seq": rows[0][1], "batched": rows[1][1], "inverse_cdf": rows[2][1]}


# ---------------------------------------------------------------- 4. test suite


def bench_suite() -> None:
    print("\n## 4. 整个测试套件：python -m pytest --nbval --durations=0")
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


def row_loss(W: torch.Tensor, P: torch.Tensor) -> torch.Tensor:
    """每行一票：先算每一行（每个输入字符）的平均负对数似然，再对 27 行取平均。

    梯度的第 i 行是 (softmax(W_i) - P_i) / 27，与这一行的数据多少无关；最优点仍是 softmax(W_i) = P_i。
    """
    return -(P * torch.log_softmax(W, dim=1)).sum(1).mean()


def train_until(
    lossf: Callable[[torch.Tensor], torch.Tensor],
    N: torch.Tensor,
    target: float,
    lr: float,
    max_steps: int,
    record: int | None = None,
) -> tuple[int | None, float, float | None]:
    """从第 7 章的初始化出发做梯度下降，直到数据上的平均 NLL（count_loss）与 target 相差小于 THRESHOLD。

    返回 (所需步数或 None, 用时秒, 第 record 步之前的损失)。
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
        if not data_loss < 10:  # 发散
            return None, time.perf_counter() - t0, at_record
        if k < max_steps:
            sgd_step(lossf, W, lr)
    return None, time.perf_counter() - t0, at_record


def train_onehot_until(xs, ys, target: float, lr: float, max_steps: int) -> tuple[int | None, float]:
    """第 7 章原样：每步对全部 228146 个样本做 one-hot 前向、反向和更新，损失就是训练循环打印的那个数。"""
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
    target = mm_utils.avg_nll(P, xs, ys)  # 计数模型（未平滑）的损失 = 这个损失函数的最小值
    print(f"\n## 5. 收敛：离计数模型的损失 {target:.4f} 还差多少（阈值 {THRESHOLD} nats），初始化同第 7 章")
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
    if "--part2" in sys.argv[1:]:  # 第二部分的基准（benchmarks/bench_part2.py）：其余参数原样交给它
        import bench_part2

        argv = [a for a in sys.argv[1:] if a != "--part2"]
        raise SystemExit(bench_part2.main(argv))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--repeats", type=int, default=7, help="每项测量的重复次数（取中位数），默认 7")
    ap.add_argument("--suite", action="store_true", help="另外计时整个 pytest --nbval 套件（慢）")
    ap.add_argument("--exact", action="store_true", help="收敛部分真的用第 7 章 one-hot 写法跑到阈值（慢）")
    ap.add_argument("--threads", type=int, default=0, help="torch.set_num_threads；默认 0 = 不改（torch 的默认值）")
    ap.add_argument("--quick", action="store_true", help="几秒钟的冒烟运行：前 1000 个名字，每项测一次")
    ap.add_argument("--part2", action="store_true", help="第二部分：--part2 NN [NN ...] [--only chapter|lecture]")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.quick:
        args.repeats = 1

    print("# makemore-zh benchmark")
    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, python {platform.python_version()}, "
          f"{platform.machine()}, cpus {os.cpu_count()}, load average {os.getloadavg()[0]:.2f}")
    words = mm_utils.load_words()
    stoi, itos = mm_utils.build_vocab(words)  # 全部名字的字符表：子集里也是 27 个字符
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
        print("\n## 4. 测试套件：跳过（加 --suite 运行）")
    bench_convergence(xs, ys, N, P, step_times, args.exact, [50] if args.quick else None)


if __name__ == "__main__":
    main()
