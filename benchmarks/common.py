"""Shared helpers for the benchmarks: robust timing, the numpy-matmul yardstick, the machine.

Timings on shared machines are noisy, so everything here reports medians of repeated runs,
and speeds are compared with numpy's own float32 matmul measured in the same process.
"""
import datetime
import os
import platform
import statistics
import subprocess
import time

import numpy as np

__all__ = ["median_time", "matmul_gflops", "environment_report"]


def median_time(fn, repeats=7, warmup=1):
    """Median wall time in seconds of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def matmul_gflops(m, k, n, dtype=np.float32, repeats=7, seed=0):
    """GFLOP/s of numpy's ``(m, k) @ (k, n)`` (2*m*k*n flops), median of ``repeats`` runs.

    This is the yardstick: a convolution done as im2col + matmul cannot beat the matmul
    it calls, so a layer's speed is quoted as a fraction of this number.
    """
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((m, k), dtype=np.float32).astype(dtype)
    b = rng.standard_normal((k, n), dtype=np.float32).astype(dtype)
    out = np.empty((m, n), dtype)
    seconds = median_time(lambda: np.matmul(a, b, out=out), repeats=repeats)
    return 2.0 * m * k * n / seconds / 1e9


def _cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
        fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
        return f"{fields['Model name'].strip()} (family {fields.get('CPU family', '?').strip()}, " \
               f"model {fields.get('Model', '?').strip()})"
    except (OSError, subprocess.CalledProcessError, KeyError):
        return platform.processor() or "unknown CPU"


def _blas():
    try:
        cfg = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        return f"{cfg.get('name')} {cfg.get('version')} ({cfg.get('openblas configuration', '').split()[0:4]})"
    except Exception:  # noqa: BLE001  (the report must not fail on an unusual numpy build)
        return "unknown"


def environment_report():
    """Lines describing where and with what a benchmark ran (for docs/performance.md)."""
    import numba

    env = {k: os.environ.get(k) for k in ("OPENBLAS_CORETYPE", "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS",
                                          "NUMBA_NUM_THREADS", "NUMBA_THREADING_LAYER",
                                          "MALLOC_MMAP_THRESHOLD_", "TINYDAGAN_BACKEND")}
    return [
        f"date: {datetime.datetime.now().isoformat(timespec='seconds')}",
        f"cpu: {_cpu_model()}, {os.cpu_count()} logical cores",
        f"python {platform.python_version()}, numpy {np.__version__}, numba {numba.__version__}",
        f"blas: {_blas()}",
        "env: " + ", ".join(f"{k}={v}" for k, v in env.items() if v is not None) + (
            "" if any(env.values()) else "(none of OPENBLAS_CORETYPE / *_NUM_THREADS / ... set)"),
    ]
