"""benchmarks/bench.py --quick: every section of the benchmark runs (and its built-in cross-checks pass),
so the script cannot rot between the times someone runs the full benchmark."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_bench_quick_runs_every_section(names_path):
    res = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "bench.py"), "--quick"],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-3000:]
    headings = [line for line in res.stdout.splitlines() if line.startswith("## ")]
    assert [h[3] for h in headings] == ["1", "2", "3", "4", "5"], headings
    assert "ratio" in res.stdout and "names/s" in res.stdout and "steps to |loss - count loss|" in res.stdout
