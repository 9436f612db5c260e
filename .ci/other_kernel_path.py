"""Run a command on a lower CPU kernel path and with the other thread count than the first test run.

    python .ci/other_kernel_path.py                                  # every notebook (CI's second pass)
    python .ci/other_kernel_path.py notebooks/10_batchnorm.ipynb     # one changed notebook, before a commit
    python .ci/other_kernel_path.py --dry-run                         # only print the settings

A stored output must print the same on every CPU a reader has. The first test run uses this machine's native
kernels (e.g. AVX-512) and one torch thread per kernel; this one re-runs the notebooks one level down:

    native capability   ATEN_CPU_CAPABILITY   MKL_ENABLE_INSTRUCTIONS   ONEDNN_MAX_CPU_ISA
    AVX512              avx2                  AVX2                      AVX2
    AVX2                default               SSE4_2                    SSE41
    anything else       default               SSE4_2                    SSE41

ATEN_CPU_CAPABILITY picks PyTorch's own vectorised kernels (elementwise ops, reductions, the normal sampler);
MKL_ENABLE_INSTRUCTIONS caps the instruction set of MKL's BLAS (matrix products), ONEDNN_MAX_CPU_ISA that of
oneDNN (convolutions). All three take effect in the CPU build of torch 2.13 (checked with MKL_VERBOSE=1,
torch.backends.mkldnn.verbose and torch.backends.cpu.get_cpu_capability()). The thread count is the other one
of 1 and 2 (the first run has OMP_NUM_THREADS=1 from the root conftest.py unless it was set): so 1 and 2
threads are both covered. The notebooks run one at a time (-n 0) so that two threads really have two cores.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

LOWER = {  # native capability -> (ATEN_CPU_CAPABILITY, MKL_ENABLE_INSTRUCTIONS, ONEDNN_MAX_CPU_ISA)
    "AVX512": ("avx2", "AVX2", "AVX2"),
    "AVX2": ("default", "SSE4_2", "SSE41"),
}
FALLBACK = ("default", "SSE4_2", "SSE41")
KERNEL_VARS = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")
PROBE = "import torch; print(torch.backends.cpu.get_cpu_capability())"


def capability(env: dict[str, str]) -> str:
    """What torch reports in a fresh process with this environment (AVX512, AVX2, DEFAULT, ...)."""
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def other_env(base: dict[str, str]) -> tuple[dict[str, str], str, str]:
    """(environment for the second run, native capability, expected capability of the second run)."""
    native_env = {k: v for k, v in base.items() if k not in KERNEL_VARS}
    native = capability(native_env)
    aten, mkl, onednn = LOWER.get(native, FALLBACK)
    first_threads = base.get("OMP_NUM_THREADS", "1")
    env = dict(native_env, ATEN_CPU_CAPABILITY=aten, MKL_ENABLE_INSTRUCTIONS=mkl, ONEDNN_MAX_CPU_ISA=onednn)
    env["OMP_NUM_THREADS"] = env["MKL_NUM_THREADS"] = "2" if first_threads == "1" else "1"
    return env, native, aten.upper()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("paths", nargs="*", default=["notebooks"], help="notebooks or folders (default: notebooks)")
    ap.add_argument("--dry-run", action="store_true", help="print the settings, run nothing")
    args = ap.parse_args()
    env, native, expected = other_env(dict(os.environ))
    lower = capability(env)
    print(f"native CPU capability: {native}; this run: {lower} "
          + " ".join(f"{k}={env[k]}" for k in (*KERNEL_VARS, "OMP_NUM_THREADS")), flush=True)
    if lower != expected:
        print(f"ATEN_CPU_CAPABILITY={env['ATEN_CPU_CAPABILITY']} gave {lower}, expected {expected}")
        return 1
    if native == lower:
        print("note: no lower kernel path than the native one here; only the thread count differs")
    if args.dry_run:
        return 0
    cmd = [sys.executable, "-m", "pytest", "--nbval", "-n", "0", *args.paths]
    print("$ " + " ".join(cmd), flush=True)
    return subprocess.call(cmd, env=env)


if __name__ == "__main__":
    sys.exit(main())
