"""The reproducibility rule (README, contributor notes): a stored output prints only what every CPU prints.

Another CPU (AVX2 instead of AVX-512, PyTorch's generic kernels, Apple silicon), another thread count or
another BLAS code path changes the last bits of a float32 computation, and even of a `torch.randn` draw.
So a compared output never prints
- a round-off-sized value (an exponent below -5, e.g. ``3.3e-06``): print a bound instead (``< 1e-05``);
- a float with twelve or more digits after the point (a float32 printed in full): print what survives.
Cells tagged ``nbval-ignore-output`` are not compared and may print anything (timings).
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))

# A number in scientific notation whose exponent is -6 or smaller, and a float with 12+ decimals.
TINY = re.compile(r"(?<![\w.])\d+(?:\.\d+)?e-0*(?:[6-9]|[1-9]\d+)\b")
LONG = re.compile(r"(?<![\w.])\d*\.\d{12,}")
# What may stand right before a tiny number: it is then a bound, not a value (also "在 1e-6 与 1e-4 之间").
BOUND = re.compile(r"(?:<|≤|>|≥|在)\s*$|在\s*\S+\s*与\s*$")

# Named exceptions: constants the same on every CPU, by notebook (none at present: chapter 06 shows the
# float32 limits as powers of two).
CONSTANTS: dict[str, set[str]] = {}


def unstable_numbers(text: str, allowed: set[str] = frozenset()) -> list[str]:
    """The numbers in ``text`` that another CPU may print differently (empty list: none)."""
    found = []
    for m in TINY.finditer(text):
        if m.group() not in allowed and not BOUND.search(text[: m.start()]):
            found.append(m.group())
    found += [m.group() for m in LONG.finditer(text) if m.group() not in allowed]
    return found


def compared_outputs(path: Path):
    """(code cell number from 1, text) for every output nbval compares."""
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    for i, cell in enumerate(code, start=1):
        if "nbval-ignore-output" in cell.metadata.get("tags", []):
            continue
        for o in cell.outputs:
            text = o.get("text", "") + "".join(o.get("data", {}).get("text/plain", ""))
            if text:
                yield i, text


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_stored_outputs_print_only_what_every_cpu_prints(path):
    allowed = CONSTANTS.get(path.name, set())
    bad = [(i, n) for i, text in compared_outputs(path) for n in unstable_numbers(text, allowed)]
    assert not bad, (
        f"{path.name}: (code cell, number) {bad[:8]}: a round-off value or a full-precision float differs on "
        "another CPU or thread count; print a bound (< 1e-05) or fewer digits, or tag a volatile cell "
        "nbval-ignore-output and check the bound in a compared cell"
    )


def test_the_rule_catches_what_changed_on_another_cpu():
    # outputs that were stored, and printed differently on a CPU without AVX-512 or with generic kernels
    assert unstable_numbers("max |b1.grad| = 4.7e-10,  max |W1.grad| = 4.7e-03") == ["4.7e-10"]
    assert unstable_numbers("max |difference| = 3.3e-06") == ["3.3e-06"]
    assert unstable_numbers("0.03788243606686592 0.03788243606686592") == ["0.03788243606686592"] * 2
    assert unstable_numbers("2.454014301300049") == ["2.454014301300049"]
    assert unstable_numbers("maxdiff 1.1920928955078125e-07") == ["1.1920928955078125e-07", "1.1920928955078125"]
    # what is allowed: bounds, short floats, large exponents, named constants
    assert unstable_numbers("max |difference| < 1e-05") == []
    assert unstable_numbers("最大差在 1e-6 与 1e-4 之间：True；都 > 5e-6：True") == []
    assert unstable_numbers("少一个名字：最大差 4e-06") == ["4e-06"]
    assert unstable_numbers("|grad| ≤ 1e-06, loss 2.4540, lr 1e-03, 3.2e+04 steps") == []
    assert unstable_numbers("smallest 1.4e-45", {"1.4e-45"}) == []
    assert unstable_numbers("smallest 1.4e-45") == ["1.4e-45"]
