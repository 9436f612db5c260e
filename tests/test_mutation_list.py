""".ci/mutation.py cannot rot: every mutant's original text still occurs exactly once in mm_utils' Part II
section (the mutation run itself takes minutes and is not part of the suite; see its docstring)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_mutant_still_matches_the_module():
    spec = importlib.util.spec_from_file_location("mutation", ROOT / ".ci" / "mutation.py")
    mutation = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mutation)
    source = mutation.MODULE.read_text(encoding="utf-8")
    lo, hi = mutation.part2(source)
    section = source[lo:hi]
    assert len(mutation.MUTANTS) >= 30
    names = [name for name, _, _ in mutation.MUTANTS]
    assert len(set(names)) == len(names)
    for name, old, new in mutation.MUTANTS:
        assert section.count(old) == 1, f"mutant {name!r}: its text occurs {section.count(old)} times"
        assert old != new
