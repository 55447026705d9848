"""tinydagan.memory: the malloc setting applied at import (glibc only), and its opt-out."""
import subprocess
import sys

import pytest

from tinydagan.memory import keep_freed_memory


def test_opt_out_leaves_malloc_alone(monkeypatch):
    monkeypatch.setenv("TINYDAGAN_KEEP_MEMORY", "0")
    assert keep_freed_memory() is False


def test_applied_on_linux_with_glibc(monkeypatch):
    monkeypatch.delenv("TINYDAGAN_KEEP_MEMORY", raising=False)
    if not sys.platform.startswith("linux"):
        assert keep_freed_memory() is False
        return
    import platform
    if platform.libc_ver()[0] != "glibc":
        pytest.skip(f"not glibc ({platform.libc_ver()}): mallopt does not apply")
    assert keep_freed_memory() is True


CHILD = """
import resource, numpy as np
import tinydagan  # applies (or not) the setting
def faults():
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt
a = np.ones(8 * 2**20 // 4, np.float32); del a      # 8 MB, above glibc's default mmap threshold
before = faults()
for _ in range(20):
    a = np.ones(8 * 2**20 // 4, np.float32); del a
print(faults() - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="page-fault counts: Linux only")
def test_reallocating_a_big_array_does_not_page_fault_again():
    """The reason for the setting: the second and later 8 MB arrays reuse the first one's pages."""
    import platform
    if platform.libc_ver()[0] != "glibc":
        pytest.skip("not glibc")
    counts = {}
    for keep in ("1", "0"):
        out = subprocess.run([sys.executable, "-c", CHILD], capture_output=True, text=True, check=True,
                             env={**__import__("os").environ, "TINYDAGAN_KEEP_MEMORY": keep})
        counts[keep] = int(out.stdout.split()[-1])
    # 20 x 8 MB of fresh pages would be >= 20 x 2048 faults of 4 KB (or 20 x 4 of 2 MB huge pages)
    assert counts["1"] < 20, counts
    assert counts["0"] >= 20, counts
