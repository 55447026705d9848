"""The PyTorch mirror in benchmarks/vs_torch.py computes what tinydagan computes (float64)."""
import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("torch")

PATH = Path(__file__).resolve().parents[1] / "benchmarks" / "vs_torch.py"


def load_benchmark():
    spec = importlib.util.spec_from_file_location("vs_torch", PATH)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("size", [16, 32])
def test_mirror_matches_tinydagan(size):
    vs_torch = load_benchmark()
    diff = vs_torch.check_mirror(size, batch=4)
    assert set(diff) == {"D logits (eval)", "G images (eval)", "G images (train)", "losses after a step",
                         "weights after a step", "D's EMA after a step"}
    for what, value in diff.items():
        assert value < vs_torch.TOLERANCE, f"{what}: |tinydagan - torch| = {value:.2e}"
