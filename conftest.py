"""Thread policy for the whole suite (loaded by pytest before anything imports torch).

pytest-xdist runs two workers on the 2-core machine, and every nbval kernel a worker starts inherits this
process's environment. With torch's default (one thread per core) two workers run four threads on two
cores and slow each other down; with one thread each they do not (measurements in the README / the
issue-9 report). A value that is already set wins, so `OMP_NUM_THREADS=2 python -m pytest --nbval ...`
still checks that the stored outputs reproduce with two threads.
"""

import os

os.environ.setdefault("MKL_NUM_THREADS", os.environ.setdefault("OMP_NUM_THREADS", "1"))  # torch reads both


def pytest_report_header(config):
    """Say which CPU kernel path and thread count this run uses (the stored outputs must not depend on them)."""
    import torch

    kernel_vars = " ".join(f"{k}={os.environ[k]}" for k in
                           ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA") if k in os.environ)
    return (f"torch {torch.__version__}, CPU capability {torch.backends.cpu.get_cpu_capability()}, "
            f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} {kernel_vars}".rstrip())
