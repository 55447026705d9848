"""Optional: compare tinydagan with PyTorch (skipped when torch is not installed)."""
import numpy as np
import pytest

import tinydagan as td
import tinydagan.functional as F

torch = pytest.importorskip("torch")


def test_conv_and_transposed_conv_match_torch():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((2, 3, 8, 8))
    w = rng.standard_normal((4, 3, 3, 3))
    wt = rng.standard_normal((3, 5, 5, 5))
    ours = F.conv2d(td.Tensor(x), td.Tensor(w), stride=2, padding=1).data
    theirs = torch.nn.functional.conv2d(torch.tensor(x), torch.tensor(w), stride=2, padding=1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)
    ours = F.conv_transpose2d(td.Tensor(x), td.Tensor(wt), stride=2, padding=2, output_padding=1).data
    theirs = torch.nn.functional.conv_transpose2d(torch.tensor(x), torch.tensor(wt), stride=2, padding=2,
                                                  output_padding=1).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-10)


def test_cross_entropy_gradient_matches_torch():
    rng = np.random.default_rng(1)
    z = rng.standard_normal((5, 4))
    y = np.array([0, 3, 1, 1, 2])
    ours = td.Tensor(z, requires_grad=True)
    F.cross_entropy(ours, y).backward()
    theirs = torch.tensor(z, requires_grad=True)
    torch.nn.functional.cross_entropy(theirs, torch.tensor(y)).backward()
    np.testing.assert_allclose(ours.grad, theirs.grad.numpy(), rtol=1e-10)
