"""Mutation run over mm_utils' Part II section (chapters 9-12): do the unit tests catch real bugs?

    python .ci/mutation.py            # every mutant; prints killed/survived and the score
    python .ci/mutation.py -k eps     # only the mutants whose name contains 'eps'
    python .ci/mutation.py --list     # the mutants, without running anything

Each mutant is one small semantic change (a bug someone could plausibly write) to the text of
``notebooks/mm_utils.py`` between the chapter 9 header and the appendix A1 header. For each one the
script copies the module, the tests and the pytest configuration into a temporary folder, applies the
change there (the working tree is never touched), and runs the Part II unit tests with ``-x``. A mutant
is *killed* when some test fails, *survived* when all pass. Exit status 1 if any mutant survived or a
mutant's text no longer matches the module (then update the list below with the module).

Not a test module (pytest does not collect .ci/); it takes a few minutes on the 2-core machine
(tests/test_mutation_list.py only checks that every mutant still matches the module).

Last score (issue 19): 35/35 killed. The tests before issue 19 killed 27 of the first 30: BatchNorm's eps
outside the square root, running statistics updated inside the graph and sample_model stopping one
character late survived them.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULE = ROOT / "notebooks" / "mm_utils.py"
START, END = "# 第 9 章", "# 附录 A1"
TESTS = ["tests/test_mm_utils_ch09.py", "tests/test_mm_utils_ch10.py", "tests/test_mm_utils_ch12.py"]

# (name, original text, mutated text): the original must occur exactly once in the Part II section.
MUTANTS: list[tuple[str, str, str]] = [
    # chapter 9: build_dataset
    ("dataset: context starts from 'a' not '.'", "context = [0] * block_size\n        for ch",
     "context = [1] * block_size\n        for ch"),
    ("dataset: no end-of-name label", 'for ch in w + ".":', "for ch in w:"),
    ("dataset: window shifts the wrong way", "context = context[1:] + [ix]\n    return",
     "context = [ix] + context[:-1]\n    return"),
    ("dataset: block_size 0 accepted", "or block_size < 1:", "or block_size < 0:"),
    # chapter 9: evaluate_loss
    ("evaluate_loss: records a graph", "with torch.no_grad(), _inference_mode(forward):\n        for i in",
     "with torch.enable_grad(), _inference_mode(forward):\n        for i in"),
    ("evaluate_loss: drops the last example of a block", "forward(X[i : i + batch_size]), Yb).item()",
     "forward(X[i : i + batch_size][:-1]), Yb[:-1]).item()"),
    ("evaluate_loss: blocks weighted alike", ".item() * len(Yb)", ".item() * batch_size"),
    ("evaluate_loss: skips the short last block", "for i in range(0, len(Y), batch_size):",
     "for i in range(0, len(Y) - batch_size + 1, batch_size):"),
    # chapter 9: train_minibatch
    ("train: batch never draws the last row", "torch.randint(0, X.shape[0], (batch_size,)",
     "torch.randint(0, X.shape[0] - 1, (batch_size,)"),
    ("train: gradient ascent", "p -= step_lr * p.grad", "p += step_lr * p.grad"),
    ("train: schedule off by one step", "lr(i) if callable(lr)", "lr(i + 1) if callable(lr)"),
    ("train: gradients accumulate", "            p.grad = None\n", "            pass\n"),
    ("train: lossi records the wrong loss", "lossi.append(batch_loss.item())",
     "lossi.append(batch_loss.item() / batch_size)"),
    # chapter 9: sample_model
    ("sample: stops one character late", "if len(out) >= max_len:\n                    raise RuntimeError(",
     "if len(out) > max_len:\n                    raise RuntimeError("),
    ("sample: softmax over the batch dimension", "torch.softmax(logits, dim=1)", "torch.softmax(logits, dim=0)"),
    ("sample: window keeps the oldest character", "context = context[1:] + [ix]\n            names",
     "context = context[:-1] + [ix]\n            names"),
    ("sample: ends on 'a' instead of '.'", "if ix == 0:\n                    break",
     "if ix == 1:\n                    break"),
    # chapter 9: inference mode for models built from the book's layers
    ("evaluate_loss: stays in training mode", "with torch.no_grad(), _inference_mode(forward):\n        for i in",
     "with torch.no_grad():\n        for i in"),
    ("sample_model: stays in training mode", "with torch.no_grad(), _inference_mode(forward):\n        for _",
     "with torch.no_grad():\n        for _"),
    ("inference mode: previous modes not restored", "            part.training = mode\n\n\ndef evaluate_loss",
     "            part.training = False\n\n\ndef evaluate_loss"),
    ("inference mode: nested Sequential skipped",
     "return [part for layer in model.layers for part in _switchable(layer)]",
     "return [layer for layer in model.layers if hasattr(layer, \"training\")]"),
    # chapter 10: Linear, BatchNorm1d, Tanh
    ("Linear: scaled by fan_out", "/ fan_in**0.5", "/ fan_out**0.5"),
    ("Linear: bias starts at one", "self.bias = torch.zeros(fan_out) if bias",
     "self.bias = torch.ones(fan_out) if bias"),
    ("BatchNorm: normalizes with the unbiased variance", "xvar = x.var(dims, unbiased=False)",
     "xvar = x.var(dims, unbiased=True)"),
    ("BatchNorm: running variance biased", "unbiased = xvar * n / (n - 1) if n > 1 else xvar", "unbiased = xvar"),
    ("BatchNorm: momentum weights swapped",
     "(1 - self.momentum) * self.running_mean + self.momentum * xmean",
     "self.momentum * self.running_mean + (1 - self.momentum) * xmean"),
    ("BatchNorm: eps outside the square root", "/ torch.sqrt(xvar + self.eps)", "/ (torch.sqrt(xvar) + self.eps)"),
    ("BatchNorm: running statistics updated inside the graph",
     "            with torch.no_grad():\n                n = x.numel()",
     "            if True:\n                n = x.numel()"),
    ("BatchNorm: 3-d input reduced over dim 0 only", "dims = tuple(range(x.dim() - 1))", "dims = (0,)"),
    ("BatchNorm: inference uses the batch", "xmean, xvar = self.running_mean, self.running_var",
     "xmean, xvar = x.mean(0), x.var(0, unbiased=False)"),
    ("Tanh: is a ReLU", "self.out = torch.tanh(x)", "self.out = torch.relu(x)"),
    # chapter 12: Embedding, FlattenConsecutive, Sequential
    ("Embedding: transposed lookup", "self.out = self.weight[IX]", "self.out = self.weight[IX].flip(-1)"),
    ("Flatten: interleaves instead of concatenating", "x = x.view(B, T // self.n, C * self.n)",
     "x = x.transpose(1, 2).reshape(B, T // self.n, C * self.n)"),
    ("Flatten: never squeezes", "if x.shape[1] == 1:", "if False:"),
    ("Flatten: accepts a length it cannot split", "if T % self.n:", "if False:"),
    ("Sequential: eval() does not switch", "        for part in _switchable(self):\n            part.training = mode",
     "        for part in _switchable(self):\n            part.training = True"),
    ("Sequential: forgets the first layer's parameters", "for layer in self.layers for p in layer.parameters()",
     "for layer in self.layers[1:] for p in layer.parameters()"),
]


def part2(text: str) -> tuple[int, int]:
    """Start and end offsets of the Part II section of the module's text."""
    return text.index(START), text.index(END)


def sandbox(dest: Path) -> None:
    """The smallest copy of the repo in which the Part II unit tests run."""
    (dest / "notebooks").mkdir()
    shutil.copy(MODULE, dest / "notebooks" / "mm_utils.py")
    for nb in (ROOT / "notebooks").glob("*.ipynb"):  # some tests compare mm_utils with a chapter's own code
        os.symlink(nb, dest / "notebooks" / nb.name)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(ROOT / "support", dest / "support", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("conftest.py", "pytest.ini"):
        shutil.copy(ROOT / name, dest / name)
    (dest / "data").mkdir()
    names = ROOT / "data" / "names.txt"
    if names.exists():
        os.symlink(names, dest / "data" / "names.txt")


def run(dest: Path) -> bool:
    """True when the tests pass (the mutant survived)."""
    res = subprocess.run(
        [sys.executable, "-m", "pytest", "-x", "-q", "-n0", "-p", "no:cacheprovider", *TESTS],
        cwd=dest, capture_output=True, text=True, timeout=900,
    )
    return res.returncode == 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-k", default="", help="run only the mutants whose name contains this text")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    args = ap.parse_args(argv)
    chosen = [m for m in MUTANTS if args.k.lower() in m[0].lower()]
    if args.list:
        for name, _, _ in chosen:
            print(name)
        return 0
    source = MODULE.read_text(encoding="utf-8")
    lo, hi = part2(source)
    section = source[lo:hi]
    bad = [name for name, old, _ in chosen if section.count(old) != 1]
    if bad:
        print("mutants whose text does not occur exactly once in the Part II section:", *bad, sep="\n  ")
        return 1
    with tempfile.TemporaryDirectory() as tmp:
        dest = Path(tmp)
        sandbox(dest)
        target = dest / "notebooks" / "mm_utils.py"
        if run(dest):
            print("the unmutated module passes the tests: baseline ok")
        else:
            print("the tests fail on the unmutated module: fix them first")
            return 1
        survived = []
        for name, old, new in chosen:
            target.write_text(source[:lo] + section.replace(old, new) + source[hi:], encoding="utf-8")
            alive = run(dest)
            print(f"{'SURVIVED' if alive else 'killed  '}  {name}", flush=True)
            if alive:
                survived.append(name)
        target.write_text(source, encoding="utf-8")
    killed = len(chosen) - len(survived)
    print(f"\nmutation score: {killed}/{len(chosen)} killed")
    return 1 if survived else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
