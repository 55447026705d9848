"""``python -m tinydagan.data``: help, usage errors, show, info."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from data_fixtures import isolated_cache, write_cifar_bin  # noqa: F401
from tinydagan.data import main


def test_module_help_runs():
    result = subprocess.run([sys.executable, "-m", "tinydagan.data", "--help"],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0
    for word in ("download", "show", "info", "TINYDAGAN_DATA"):
        assert word in result.stdout


@pytest.mark.parametrize("argv", [["--bogus"], ["show", "cifar10", "--bogus"],
                                  ["download", "mnist"], ["show", "cifar10", "--per-class", "x"]])
def test_usage_errors_exit_2(argv, capsys):
    assert main(argv) == 2
    assert "error:" in capsys.readouterr().err


def test_subcommand_help_exits_0(capsys):
    assert main(["download", "--help"]) == 0
    assert "--from" in capsys.readouterr().out


def test_show_writes_png_grid(tmp_path, isolated_cache, capsys):
    write_cifar_bin(tmp_path / "data", np.random.default_rng(0), per_batch=30)
    out = tmp_path / "grid.png"
    argv = ["show", "cifar10", "--root", str(tmp_path / "data"), "--per-class", "3",
            "--size", "16", "--out", str(out)]
    assert main(argv) == 0
    assert "10 classes x 3 images" in capsys.readouterr().out
    with Image.open(out) as img:
        assert img.format == "PNG"
        width, height = img.size
    assert height == 10 * (64 + 2) + 2  # one row per class, 16 px tiles enlarged 4x
    assert width > 3 * 64


def test_show_per_class_too_large_is_data_error(tmp_path, isolated_cache, capsys):
    write_cifar_bin(tmp_path, np.random.default_rng(1), per_batch=10)
    assert main(["show", "cifar10", "--root", str(tmp_path), "--per-class", "50",
                 "--out", str(tmp_path / "g.png")]) == 1
    assert "per_class=50 but class" in capsys.readouterr().err
    assert not (tmp_path / "g.png").exists()


def test_info_counts(tmp_path, isolated_cache, capsys):
    write_cifar_bin(tmp_path, np.random.default_rng(2), test=30)
    assert main(["info", "cifar10", "--split", "test", "--root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "(30, 32, 32, 3) uint8" in out and "airplane" in out
