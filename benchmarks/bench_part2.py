"""Part II benchmark: the lecture's training recipe beside the chapter's, on the book's one split.

    python benchmarks/bench.py --part2 09 10        # or: python benchmarks/bench_part2.py 09 10
    python benchmarks/bench_part2.py 12 --only chapter
    python benchmarks/bench_part2.py 11 --steps 40  # every recipe shortened to 40 steps (same schedule shape)
    python benchmarks/bench_part2.py 11 12 --write  # also store the results in benchmarks/part2_results.json
    python benchmarks/bench.py --part2 12 --only flat hierarchical --write  # chapter 12's COMPARISON
    python benchmarks/bench.py --part2 12 --only l2 --write  # chapter 12's exercise 1 at the full budget

Each chapter NN has benchmarks/recipes_chNN.py holding settings only: NOTEBOOK (the chapter), BLOCK_SIZE,
and the two recipes LECTURE and CHAPTER (model size, steps, batch size, learning-rate schedule); a chapter
may add COMPARISON, a dict of further named recipes (two models at one budget), run only when --only names
them. The model and its training code are not restated here: ``train`` below loads them from the chapter's notebook
(support/chapters.py) and runs them, so the bench measures the code the reader sees. Data: Xtr, Ytr, Xdev,
Ydev from mm_utils.split_words (seed 2147483647, 80/10/10 of the names) with the chapter's block size.

A recipe's learning rate is ``("step", lr0, lr1, at)`` (lr0, then lr1 from the fraction ``at`` of the steps
on) or ``("cosine", lr_max, lr_min)`` (over all steps), so that a shortened run keeps the schedule's shape.
Printed: dev loss, training seconds and parameter count of each (and the train loss of a recipe that stores
it), the time ratio lecture / chapter and the dev-loss difference.
Timings are wall-clock on this machine: run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))
sys.path.insert(0, str(ROOT))

import mm_utils  # noqa: E402
from support.chapters import load, load_cell  # noqa: E402

SEED = 2147483647
RESULTS = ROOT / "benchmarks" / "part2_results.json"


def book_split_data(block_size: int) -> dict:
    words = mm_utils.load_words()
    stoi, _ = mm_utils.build_vocab(words)
    splits = mm_utils.split_words(words, torch.Generator().manual_seed(SEED))
    Xtr, Ytr, Xdev, Ydev, _, _ = mm_utils.build_splits(splits, stoi, block_size)
    names = dict(zip(("train_words", "dev_words", "test_words"), splits), stoi=stoi)
    return {"Xtr": Xtr, "Ytr": Ytr, "Xdev": Xdev, "Ydev": Ydev, "words": names}


def schedule(spec: tuple, steps: int):
    """Step number -> learning rate, from a recipe's ``lr`` setting (see the module docstring)."""
    kind, *args = spec
    if kind == "step":
        lr0, lr1, at = args
        return mm_utils.step_lr(lr0, lr1, int(at * steps))
    if kind == "cosine":
        lr_max, lr_min = args
        return mm_utils.cosine_lr(lr_max, lr_min, steps)
    raise ValueError(f"unknown schedule {spec!r}")


def train(chapter: str, recipe: dict, data: dict, g: torch.Generator, block_size: int) -> dict:
    """Build the recipe's model with the chapter's code, train it, return {"dev", "seconds", "params"}
    (seconds: the training loop only)."""
    steps, batch_size = recipe["steps"], recipe["batch_size"]
    lr = schedule(recipe["lr"], steps)
    Xtr, Ytr, Xdev, Ydev = data["Xtr"], data["Ytr"], data["Xdev"], data["Ydev"]
    ctx = recipe.get("context", block_size)  # the lecture's chapter-10 model reads the last 3 characters
    Xtr, Xdev = Xtr[:, block_size - ctx:], Xdev[:, block_size - ctx:]
    t0 = time.perf_counter()
    if chapter == "09":
        ns = load("09_mlp", "make_mlp")
        parameters, forward = ns["make_mlp"](recipe["n_embd"], recipe["n_hidden"], g, block_size=ctx,
                                             out_scale=recipe["out_scale"])
        t0 = time.perf_counter()
        mm_utils.train_minibatch(forward, parameters, Xtr, Ytr, steps=steps,
                                 batch_size=batch_size, lr=lr, g=g)
    elif chapter == "10" and recipe["model"] == "running-std":
        # the lecture's part 3: BatchNorm by hand, running mean/std updated with momentum 0.001
        n_hidden = recipe["n_hidden"]
        ns = load("10_batchnorm", "init_bn_mlp", "bn_forward", "bn_train_forward", block_size=ctx,
                  n_embd=recipe["n_embd"], n_hidden=n_hidden, kaiming=(5 / 3) / (ctx * recipe["n_embd"]) ** 0.5,
                  bnmean_running=torch.zeros((1, n_hidden)), bnstd_running=torch.ones((1, n_hidden)))
        parameters = ns["init_bn_mlp"](g)
        t0 = time.perf_counter()
        mm_utils.train_minibatch(lambda X: ns["bn_train_forward"](parameters, X), parameters,
                                 Xtr, Ytr, steps=steps, batch_size=batch_size, lr=lr, g=g)

        def forward(X):
            return ns["bn_forward"](parameters, X, (ns["bnmean_running"], ns["bnstd_running"]))
    elif chapter == "10":
        # chapter 10 builds its best model in the cell that defines `final_mlp` and `model` (with the chapter's `Net`
        # class, defined in the cell before): run that cell as it is, on the book's split, and train with the
        # generator it seeded, as the next cell of the chapter does
        ns = load_cell("10_batchnorm", "final_mlp", Net=load("10_batchnorm", "Net")["Net"], **data["words"])
        if (ns["emb_dim"], ns["width"], ns["block_size"]) != (recipe["n_embd"], recipe["n_hidden"], ctx):
            raise ValueError("recipes_ch10.CHAPTER no longer matches chapter 10's model cell")
        forward, g = ns["model"], ns["g"]
        parameters = forward.parameters
        t0 = time.perf_counter()
        mm_utils.train_minibatch(forward, parameters, Xtr, Ytr, steps=steps,
                                 batch_size=batch_size, lr=lr, g=g)
        # evaluate_loss below puts the model's BatchNorm1d (found through model.layers) in inference mode
    elif chapter == "11":
        ns = load("11_backprop_by_hand", "init_params", "train_manual", "bn_calibrate", "forward_eval",
                  block_size=ctx, n_embd=recipe["n_embd"], n_hidden=recipe["n_hidden"], vocab_size=27, Xtr=Xtr)
        parameters = ns["init_params"](g)
        t0 = time.perf_counter()
        ns["train_manual"](parameters, Xtr, Ytr, steps=steps, batch_size=batch_size, lr=lr, g=g)
        stats = ns["bn_calibrate"](parameters)

        def forward(X):
            return ns["forward_eval"](parameters, stats, X)
    elif chapter == "12":
        # train_l2 (exercise 1) reads the chapter's globals Xtr, Ytr and batch_size
        ns = load("12_wavenet", "make_flat", "make_hierarchical", "train", "train_l2", Xtr=Xtr, Ytr=Ytr,
                  batch_size=batch_size)
        if recipe.get("model") == "flat":  # all ctx embeddings concatenated into one hidden layer
            model = ns["make_flat"](ctx, recipe["n_embd"], recipe["n_hidden"], g)
        else:
            model = ns["make_hierarchical"](recipe["n_embd"], recipe["n_hidden"], g)
        parameters, forward = model.parameters(), model
        if "l2" in recipe:  # exercise 1: the chapter's train_l2 (its own cosine, from lr_max down to lr_max / 100)
            kind, lr_max, lr_min = recipe["lr"]
            if kind != "cosine" or abs(lr_min - lr_max / 100) > 1e-12:
                raise ValueError("train_l2 decays the learning rate along a cosine to a hundredth of its peak")
            t0 = time.perf_counter()
            ns["train_l2"](model, steps, lr_max, recipe["l2"], g)
        else:
            t0 = time.perf_counter()
            ns["train"](model, Xtr, Ytr, steps, batch_size, lr, g)
    else:
        raise ValueError(f"no Part II recipe runner for chapter {chapter}")
    seconds = time.perf_counter() - t0
    result = {"dev": mm_utils.evaluate_loss(forward, Xdev, Ydev), "seconds": seconds,
              "params": sum(p.nelement() for p in parameters)}
    if "l2" in recipe:  # the exercise compares the train/dev gap with the chapter's
        result["train"] = mm_utils.evaluate_loss(forward, Xtr, Ytr)
    return result


def recipes(mod) -> dict[str, dict]:
    """A recipe module's named recipes: lecture, chapter, then those of its COMPARISON (if any)."""
    return {"lecture": mod.LECTURE, "chapter": mod.CHAPTER, **getattr(mod, "COMPARISON", {})}


def run(chapter: str, only: list[str] | None = None, steps: int | None = None) -> dict[str, dict]:
    mod = importlib.import_module(f"benchmarks.recipes_ch{chapter}")
    named = recipes(mod)
    if unknown := set(only or ()) - set(named):
        raise ValueError(f"chapter {chapter} has no recipe {sorted(unknown)}; it has {list(named)}")
    data = book_split_data(mod.BLOCK_SIZE)
    results = {}
    for name in only or ("lecture", "chapter"):
        recipe = dict(named[name])
        if steps:
            recipe["steps"] = steps
        print(f"ch{chapter} {name}: training {recipe['steps']:,} steps ...", flush=True)
        results[name] = train(chapter, recipe, data, torch.Generator().manual_seed(SEED), mod.BLOCK_SIZE)
    return results


def report(chapter: str, results: dict[str, dict]) -> None:
    print(f"\nchapter {chapter} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'recipe':<14}{'dev loss':>10}{'seconds':>10}{'params':>10}")
    for name, r in results.items():
        train = f"  (train loss {r['train']:.4f})" if "train" in r else ""
        print(f"{name:<14}{r['dev']:>10.4f}{r['seconds']:>10.1f}{r['params']:>10,}{train}")
    if results.keys() == {"lecture", "chapter"}:
        lec, ch = results["lecture"], results["chapter"]
        print(f"time ratio lecture/chapter: {lec['seconds'] / ch['seconds']:.1f}x; "
              f"dev loss chapter - lecture: {ch['dev'] - lec['dev']:+.4f}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="+", help="chapter numbers, e.g. 09 10")
    ap.add_argument("--only", nargs="+", metavar="RECIPE",
                    help="run only these recipes: lecture, chapter, or a name from the chapter's COMPARISON")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--steps", type=int, help="shorten every recipe to this many steps (same schedule shape)")
    ap.add_argument("--write", action="store_true", help=f"store full-length results in {RESULTS.name}")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    for ch in args.chapters:
        results = run(ch.zfill(2), args.only, args.steps)
        report(ch, results)
        if args.write and not args.steps:
            write(ch.zfill(2), results)
    return 0


def write(chapter: str, results: dict[str, dict]) -> None:
    """Store one chapter's full-length results in RESULTS (the numbers the chapters may quote; tests/test_recipes.py
    checks the quoted ones against this file)."""
    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    machine = (f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}, "
               f"{os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}")
    for name, r in results.items():
        stored.setdefault(chapter, {})[name] = {"dev": round(r["dev"], 4), "seconds": round(r["seconds"], 1),
                                                "params": r["params"], "machine": machine}
        if "train" in r:
            stored[chapter][name]["train"] = round(r["train"], 4)
    RESULTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written: {RESULTS.relative_to(ROOT)} (chapter {chapter})")


if __name__ == "__main__":
    sys.exit(main())
