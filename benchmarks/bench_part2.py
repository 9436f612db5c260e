"""Part II benchmark: the lecture's training recipe beside the chapter's, on the book's one split.

    python benchmarks/bench.py --part2 09 10        # or: python benchmarks/bench_part2.py 09 10
    python benchmarks/bench_part2.py 12 --only chapter

Each chapter NN has benchmarks/recipes_chNN.py with a constant BLOCK_SIZE and two functions
``lecture(data, g)`` and ``chapter(data, g)``; ``data`` holds Xtr, Ytr, Xdev, Ydev built here from
mm_utils.split_words (seed 2147483647, 80/10/10 of the names) with the chapter's block size. Each
function trains from scratch and returns {"dev": float, "seconds": float, "params": int}; the
seconds are training time only. Printed: dev loss, training time and parameter count of each, the
time ratio lecture / chapter and the dev-loss difference. Timings are wall-clock on this machine:
run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "notebooks"))
sys.path.insert(0, str(HERE))

import mm_utils  # noqa: E402

SEED = 2147483647


def book_split_data(block_size: int) -> dict[str, torch.Tensor]:
    words = mm_utils.load_words()
    stoi, _ = mm_utils.build_vocab(words)
    train_words, dev_words, _ = mm_utils.split_words(words, torch.Generator().manual_seed(SEED))
    Xtr, Ytr = mm_utils.build_dataset(train_words, stoi, block_size)
    Xdev, Ydev = mm_utils.build_dataset(dev_words, stoi, block_size)
    return {"Xtr": Xtr, "Ytr": Ytr, "Xdev": Xdev, "Ydev": Ydev}


def run(chapter: str, only: str | None = None) -> dict[str, dict]:
    mod = importlib.import_module(f"recipes_ch{chapter}")
    data = book_split_data(mod.BLOCK_SIZE)
    results = {}
    for name in ("lecture", "chapter"):
        if only and name != only:
            continue
        print(f"ch{chapter} {name}: training ...", flush=True)
        results[name] = getattr(mod, name)(data, torch.Generator().manual_seed(SEED))
    return results


def report(chapter: str, results: dict[str, dict]) -> None:
    print(f"\nchapter {chapter} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'recipe':<10}{'dev loss':>10}{'seconds':>10}{'params':>10}")
    for name, r in results.items():
        print(f"{name:<10}{r['dev']:>10.4f}{r['seconds']:>10.1f}{r['params']:>10,}")
    if len(results) == 2:
        lec, ch = results["lecture"], results["chapter"]
        print(f"time ratio lecture/chapter: {lec['seconds'] / ch['seconds']:.1f}x; "
              f"dev loss chapter - lecture: {ch['dev'] - lec['dev']:+.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="+", help="chapter numbers, e.g. 09 10")
    ap.add_argument("--only", choices=("lecture", "chapter"), help="run one of the two recipes")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    for ch in args.chapters:
        report(ch, run(ch.zfill(2), args.only))
    return 0


if __name__ == "__main__":
    sys.exit(main())
