"""A/B-test conv kernels on whole DAGAN training iterations, alternating in one process.

    python benchmarks/ab_step.py --rev 65e502c                 # kernels at a git revision vs now
    python benchmarks/ab_step.py --rev HEAD~1 --size 32 --iters 5
    python benchmarks/ab_step.py path/to/numba_conv_variant.py   # a file vs now

On a shared machine two separate runs of the same code can differ by much more than a
kernel change of a few percent (docs/performance.md, "Environment"), so comparing two
benchmark runs says little about such a change. This script loads the other version of
``tinydagan/kernels/numba_conv.py`` as an extra kernel backend, then times training
iterations (the DAGAN method's ``train_step`` in ``tinydagan.training.methods``, batch
64, as in train_step.py) with the two backends alternating iteration by iteration, and
reports the median of the per-iteration time ratios (new / old): drifts of the machine's
speed hit both sides alike.

Only the conv kernel module is swapped; everything else (autograd, element-wise kernels,
optimizer, the malloc setting of tinydagan/memory.py) is the current code for both.
"""
import argparse
import importlib.util
import inspect
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run from a checkout without installing

import tinydagan.kernels as kernels  # noqa: E402
from tinydagan.kernels import numba_elementwise  # noqa: E402
from tinydagan.optim import Adam  # noqa: E402
from tinydagan.training import TrainConfig  # noqa: E402
from tinydagan.training.methods import get_method  # noqa: E402

KERNEL_FILE = "tinydagan/kernels/numba_conv.py"


def load_kernels(path, name):
    """Import a numba_conv.py variant as a module, adapt an older interface to today's, and
    make it a kernel backend (with today's element-wise kernels)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    m = module
    if not hasattr(m, "conv2d_backward"):          # before the one-call backward
        def conv2d_backward(g, x, w, stride, padding, needs=(True, True, True), saved=None):
            return (m.conv2d_backward_input(g, w, x.shape, stride, padding) if needs[0] else None,
                    m.conv2d_backward_weight(g, x, w.shape, stride, padding) if needs[1] else None,
                    m.bias_backward(g) if needs[2] else None)

        def conv_transpose2d_backward(g, x, w, stride, padding, needs=(True, True, True)):
            return (m.conv_transpose2d_backward_input(g, w, x.shape, stride, padding) if needs[0] else None,
                    m.conv_transpose2d_backward_weight(g, x, w.shape, stride, padding) if needs[1] else None,
                    m.bias_backward(g) if needs[2] else None)
        module.conv2d_backward, module.conv_transpose2d_backward = conv2d_backward, conv_transpose2d_backward
    if "saved" not in inspect.signature(module.conv2d_forward).parameters:   # before kept cols
        forward, backward = module.conv2d_forward, module.conv2d_backward
        module.conv2d_forward = lambda x, w, b, s, p, saved=None: forward(x, w, b, s, p)
        module.conv2d_backward = lambda g, x, w, s, p, needs=(True, True, True), saved=None: backward(g, x, w, s, p,
                                                                                                      needs)
    return kernels.Backend(module, numba_elementwise, keeps_work=True)


def kernels_at_revision(rev, folder):
    """Write ``git show <rev>:tinydagan/kernels/numba_conv.py`` to a file in folder."""
    try:
        text = subprocess.run(["git", "-C", str(ROOT), "show", f"{rev}:{KERNEL_FILE}"], check=True,
                              capture_output=True, text=True).stdout
    except subprocess.CalledProcessError as err:
        sys.exit(f"ab_step.py: cannot read {KERNEL_FILE} at revision {rev!r}: {err.stderr.strip()}")
    path = Path(folder) / f"numba_conv_{rev.replace('/', '_').replace('~', '_')}.py"
    path.write_text(text)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     epilog="Example: python benchmarks/ab_step.py --rev HEAD~1")
    parser.add_argument("old", nargs="?", help="a numba_conv.py variant to compare with the current one")
    parser.add_argument("--rev", help="compare with numba_conv.py as of this git revision instead")
    parser.add_argument("--size", type=int, choices=(16, 32), default=16,
                        help="16: 16x16 networks at width 0.5; 32: the paper's 32x32 (default 16)")
    parser.add_argument("--iters", type=int, default=15, help="timed iterations per side (default 15)")
    args = parser.parse_args()
    if (args.old is None) == (args.rev is None):
        parser.error("give either a file or --rev")
    if args.old is not None and not Path(args.old).is_file():
        parser.error(f"no such file: {args.old}")

    with tempfile.TemporaryDirectory() as tmp:
        old_path = Path(args.old) if args.old else kernels_at_revision(args.rev, tmp)
        label = args.rev or str(old_path)
        # named inside the package, so that its relative imports (.geometry, ...) resolve
        kernels.BACKENDS["old"] = load_kernels(old_path, "tinydagan.kernels.numba_conv_old")
        width = 0.5 if args.size == 16 else 1.0
        cfg = TrainConfig(method="DAGAN", image_size=args.size, width=width, batch_size=64)
        rng = np.random.default_rng(0)
        method = get_method(cfg.method)
        D, G = method.build_models(cfg, 10, rng)
        opt_d = Adam(D.parameters(), cfg.lr, (cfg.beta1, 0.999))
        opt_g = Adam(G.parameters(), cfg.lr, (cfg.beta1, 0.999))
        x = rng.uniform(-1, 1, (64, 3, args.size, args.size)).astype(np.float32)
        y = rng.integers(0, 10, 64)

        def step():
            method.train_step(cfg, D, G, opt_d, opt_g, x, y, 10, rng)

        print(f"A/B at {args.size}x{args.size}, width {width}, batch 64: old = {label}, new = the working tree; "
              f"load average {os.getloadavg()[0]:.2f}")
        times = {"old": [], "numba": []}
        for name in times:                       # warm-up: compile or load both
            with kernels.use_backend(name):
                step()
                step()
        for _ in range(args.iters):
            for name in times:
                with kernels.use_backend(name):
                    t0 = time.perf_counter()
                    step()
                    times[name].append(time.perf_counter() - t0)
        old, new = np.array(times["old"]), np.array(times["numba"])
        print(f"old: median {1e3 * np.median(old):.0f} ms (min {1e3 * old.min():.0f})")
        print(f"new: median {1e3 * np.median(new):.0f} ms (min {1e3 * new.min():.0f})")
        print(f"new / old, median of {args.iters} per-iteration ratios: {np.median(new / old):.3f}")


if __name__ == "__main__":
    main()
