"""Part III benchmark: a reference recipe beside the chapter's, on the book's one split, as whole-name sequences.

    python benchmarks/bench_part3.py 15                  # makemore.py's GRU settings and chapter 15's recipe
    python benchmarks/bench_part3.py 15 --only chapter
    python benchmarks/bench_part3.py 15 --steps 40       # every recipe shortened to 40 steps (same schedule shape)
    python benchmarks/bench_part3.py 15 --only chapter rnn --seeds 2147483647 1 2 --threads 1 --write
                                                         # several seeds; store them in benchmarks/part3_results.json

Each chapter NN has benchmarks/recipes_chNN.py holding settings only: NOTEBOOK (the chapter), MAX_LEN and one
dict per recipe (upper-case names; ``RECIPES`` below lists which are run, in order). A recipe's ``model`` key
chooses the builder in BUILDERS, which builds the model from the shared code in notebooks/mm_utils.py (the code
the chapters derive and then import), so a new chapter adds its model by adding a builder, not a runner:

    "rnn"          mm_utils.RecurrentLM(27, n_embd, n_hidden, mm_utils.RNNCell(n_embd, n_hidden, g), g)
    "gru"          mm_utils.RecurrentLM(27, n_embd, n_hidden, mm_utils.GRUCell(n_embd, n_hidden, g), g)
    "transformer"  mm_utils.Transformer(27, MAX_LEN + 1, n_embd, n_head, n_layer, g, dropout)

Training is chapter 13's loop, mm_utils.train_model: AdamW (``betas``, ``weight_decay``), the recipe's learning
rate, gradient clipping at ``clip`` (None: no clipping). ``lr`` is ``("constant", lr)`` or
``("warmup_cosine", lr_max, lr_min, warmup_fraction)`` (mm_utils.warmup_cosine_lr with ``warmup =
int(warmup_fraction * steps)``), so that a shortened run keeps the schedule's shape. Data: the names split by
mm_utils.split_words (seed 2147483647, 80/10/10), encoded by mm_utils.build_sequences with MAX_LEN. Printed: dev
loss, training seconds (the loop only) and parameter count of each recipe. Timings are wall-clock on this machine:
run it on an otherwise idle machine.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "notebooks"))
sys.path.insert(0, str(ROOT))

import mm_utils  # noqa: E402

SEED = 2147483647
VOCAB_SIZE = 27
# the recipe dicts a recipes_chNN.py may define, run in this order
RECIPES = ("MAKEMORE", "CHAPTER", "RNN", "NO_DROPOUT", "MORE_DROPOUT", "PACKED_10500", "UNPACKED", "LONGER")
RESULTS = ROOT / "benchmarks" / "part3_results.json"  # what --write stores: chapter -> recipe -> seed -> result
BUILDERS = {
    "rnn": lambda r, g, max_len: mm_utils.RecurrentLM(
        VOCAB_SIZE, r["n_embd"], r["n_hidden"], mm_utils.RNNCell(r["n_embd"], r["n_hidden"], g), g),
    "gru": lambda r, g, max_len: mm_utils.RecurrentLM(
        VOCAB_SIZE, r["n_embd"], r["n_hidden"], mm_utils.GRUCell(r["n_embd"], r["n_hidden"], g), g),
    "transformer": lambda r, g, max_len: mm_utils.Transformer(
        VOCAB_SIZE, max_len + 1, r["n_embd"], r["n_head"], r["n_layer"], g, r.get("dropout", 0.0),
        packed="row_len" in r),
}


def book_split_sequences(max_len: int) -> dict:
    """Xtr, Ytr, Xdev, Ydev of the book's split as whole-name sequences of length max_len + 1."""
    words = mm_utils.load_words()
    stoi, _ = mm_utils.build_vocab(words)
    train_words, dev_words, _ = mm_utils.split_words(words, torch.Generator().manual_seed(SEED))
    Xtr, Ytr = mm_utils.build_sequences(train_words, stoi, max_len)
    Xdev, Ydev = mm_utils.build_sequences(dev_words, stoi, max_len)
    return {"Xtr": Xtr, "Ytr": Ytr, "Xdev": Xdev, "Ydev": Ydev, "max_len": max_len}


def schedule(spec: tuple, steps: int):
    """Step number -> learning rate, from a recipe's ``lr`` setting (see the module docstring)."""
    kind, *args = spec
    if kind == "constant":
        (lr,) = args
        return lambda i: lr
    if kind == "warmup_cosine":
        lr_max, lr_min, warmup_fraction = args
        warmup = int(warmup_fraction * steps)
        return lambda i: mm_utils.warmup_cosine_lr(i, steps=steps, lr_max=lr_max, warmup=warmup, lr_min=lr_min)
    raise ValueError(f"unknown schedule {spec!r}")


def build(recipe: dict, g: torch.Generator, max_len: int) -> torch.nn.Module:
    if recipe["model"] not in BUILDERS:
        raise ValueError(f"unknown model {recipe['model']!r}; known: {sorted(BUILDERS)}")
    return BUILDERS[recipe["model"]](recipe, g, max_len)


def train(recipe: dict, data: dict, g: torch.Generator, seed: int = SEED) -> dict:
    """Build the recipe's model, train it with mm_utils.train_model, return {"dev", "seconds", "params"}.
    A recipe with ``row_len`` trains on rows of that many positions holding several names each
    (mm_utils.pack_sequences, order drawn from a generator seeded with ``seed``; the model is built with
    ``packed=True``); the dev set stays one name per row."""
    model = build(recipe, g, data["max_len"])
    optimizer = torch.optim.AdamW(model.parameters(), betas=tuple(recipe["betas"]),
                                  weight_decay=recipe["weight_decay"])
    Xtr, Ytr = data["Xtr"], data["Ytr"]
    if "row_len" in recipe:
        Xtr, Ytr = mm_utils.pack_sequences(Xtr, Ytr, recipe["row_len"], torch.Generator().manual_seed(seed))
    _, seconds = mm_utils.train_model(model, optimizer, Xtr, Ytr, steps=recipe["steps"],
                                      batch_size=recipe["batch_size"], lr=schedule(recipe["lr"], recipe["steps"]),
                                      g=g, clip=recipe["clip"])
    dev = mm_utils.evaluate_model(model, data["Xdev"], data["Ydev"])
    return {"dev": dev, "seconds": seconds, "params": sum(p.numel() for p in model.parameters())}


def run(chapter: str, only: list[str] | None = None, steps: int | None = None,
        seeds: tuple[int, ...] = (SEED,)) -> dict[str, dict[str, dict]]:
    """recipe name -> seed -> result, for the chosen recipes of recipes_ch<chapter>.py and every seed."""
    mod = importlib.import_module(f"benchmarks.recipes_ch{chapter}")
    data = book_split_sequences(mod.MAX_LEN)
    results: dict[str, dict[str, dict]] = {}
    for name in RECIPES:
        if not hasattr(mod, name) or (only and name.lower() not in only):
            continue
        recipe = dict(getattr(mod, name))
        if steps:
            recipe["steps"] = steps
        for seed in seeds:
            print(f"ch{chapter} {name.lower()}: {recipe['model']}, seed {seed}, training {recipe['steps']:,} steps ...",
                  flush=True)
            torch.manual_seed(seed)  # dropout draws its masks from torch's global generator, not from g
            results.setdefault(name.lower(), {})[str(seed)] = train(recipe, data, torch.Generator().manual_seed(seed),
                                                                     seed)
    return results


def report(chapter: str, results: dict[str, dict[str, dict]]) -> None:
    print(f"\nchapter {chapter} (torch {torch.__version__}, {torch.get_num_threads()} threads)")
    print(f"{'recipe':<10}{'seed':>12}{'dev loss':>10}{'seconds':>10}{'params':>10}")
    for name, by_seed in results.items():
        for seed, r in by_seed.items():
            print(f"{name:<10}{seed:>12}{r['dev']:>10.4f}{r['seconds']:>10.1f}{r['params']:>10,}")


def write(chapter: str, results: dict[str, dict[str, dict]]) -> None:
    """Merge the results into RESULTS (the figures the chapters quote; tests/test_bench_part3.py checks them)."""
    import json

    stored = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.exists() else {}
    for name, by_seed in results.items():
        for seed, r in by_seed.items():
            stored.setdefault(chapter, {}).setdefault(name, {})[seed] = {
                "dev": round(r["dev"], 6), "seconds": round(r["seconds"], 1), "params": r["params"]}
    RESULTS.write_text(json.dumps(stored, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    print(f"written: {RESULTS.relative_to(ROOT)}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("chapters", nargs="+", help="chapter numbers, e.g. 15")
    ap.add_argument("--only", nargs="+", choices=[name.lower() for name in RECIPES], help="run only these recipes")
    ap.add_argument("--seeds", nargs="+", type=int, default=[SEED], help=f"seeds to train with (default: {SEED})")
    ap.add_argument("--write", action="store_true", help=f"store the results in {RESULTS.name}")
    ap.add_argument("--threads", type=int, help="torch threads (default: torch's choice)")
    ap.add_argument("--steps", type=int, help="shorten every recipe to this many steps (same schedule shape)")
    args = ap.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    for ch in args.chapters:
        results = run(ch.zfill(2), args.only, args.steps, tuple(args.seeds))
        report(ch, results)
        if args.write:
            if args.steps:
                ap.error("--write stores full recipes only (no --steps)")
            write(ch.zfill(2), results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
