"""Dependencies point one way: tests/ may import from support/ and mm_utils, but nothing outside tests/
imports a module of tests/ or puts tests/ on sys.path (shared code lives in support/)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TEST_MODULES = {p.stem for p in (ROOT / "tests").glob("*.py")}


def outside_tests() -> list[Path]:
    files = [ROOT / "conftest.py", ROOT / "notebooks" / "mm_utils.py"]
    for folder in ("benchmarks", ".ci", "support"):
        files += sorted((ROOT / folder).glob("*.py"))
    return files


def test_the_scanned_files_exist():
    names = {p.relative_to(ROOT).as_posix() for p in outside_tests()}
    assert {"benchmarks/bench.py", ".ci/sync_results.py", "support/reference.py"} <= names


def test_nothing_outside_tests_imports_from_tests():
    offenders = []
    for path in outside_tests():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                mods = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                mods = [node.module or ""]
            else:
                continue
            for mod in mods:
                top = mod.split(".")[0]
                if top == "tests" or top in TEST_MODULES:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno} imports {mod}")
        for line_no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if "sys.path" in line and '"tests"' in line:
                offenders.append(f"{path.relative_to(ROOT)}:{line_no} puts tests/ on sys.path")
    assert not offenders, "\n".join(offenders)
