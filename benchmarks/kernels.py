"""Benchmark the conv kernels on every conv / transposed-conv layer of the paper's networks.

    python benchmarks/kernels.py                 # 32x32 paper networks and the 16x16 half-width ones
    python benchmarks/kernels.py --size 16       # one size only
    python benchmarks/kernels.py --startup       # cold (empty cache) vs cached start-up times

For each layer, at batch 64 in float32: median time (over --repeats) of the two calls the
autograd layer makes, the forward pass and the backward (input, weight and bias gradients
in one call); GFLOP/s of the whole forward + backward (3 matmul-sized products:
3 * 2*M*K*N flops); and the ratio to numpy's float32 matmul on the layer's main GEMM shape
(M, K, N), measured in the same run.

Inputs are in the memory layout they have inside the networks: the numba kernels return
batch-last arrays, (C, H, W, N) in memory (see tinydagan/kernels/numba_conv.py), and the
element-wise layers, the dropout and the concatenation with the label maps keep that
layout, so a layer fed by a conv gets a batch-last x and grad_y. Only D's first conv
(images) and G's first transposed conv (the linear layer's output, reshaped) get plain
NCHW inputs.
A 2048^3 matmul is also timed, for context only (it is not the denominator).

The layer shapes are read off ``tinydagan.models`` (docs/paper.md, Table 2; see ``paper_layers``);
the 16x16 version halves every width.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import namedtuple
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import environment_report, matmul_gflops  # noqa: E402
from tinydagan import kernels  # noqa: E402
from tinydagan.kernels.geometry import ConvGeometry  # noqa: E402

BATCH = 64
NUM_CLASSES = 10  # the label maps concatenated before every transposed conv

# size: input H = W; nchw_input: the layer's input is plain NCHW in the network (else batch-last)
Layer = namedtuple("Layer", "name kind cin cout size k stride pad out_pad nchw_input")


def paper_layers(image_size):
    """Conv layers of D and G (docs/paper.md, Table 2), read off ``tinydagan.models`` (defined once):
    at 32x32 width 1.0, or the classroom 16x16 width 0.5."""
    from tinydagan import nn
    from tinydagan.models import Discriminator, Generator

    width = 0.5 if image_size == 16 else 1.0
    rng = np.random.default_rng(0)
    D = Discriminator(2 * NUM_CLASSES, width, rng=rng)
    G = Generator(NUM_CLASSES, image_size, width, rng=rng)
    layers, size, n_conv, n_nin, nchw = [], image_size, 0, 0, True  # images: NCHW
    for m in D.convs:
        if not isinstance(m, nn.Conv2d):
            continue
        if isinstance(m, nn.NIN):
            n_nin += 1
            name = f"D nin{n_nin}"
        else:
            n_conv += 1
            name = f"D conv{n_conv}" + (" s2" if m.stride[0] == 2 else "") + (" valid" if m.padding[0] == 0 else "")
        layers.append(Layer(name, "conv", m.in_channels, m.out_channels, size, m.kernel_size[0],
                            m.stride[0], m.padding[0], 0, nchw))
        size, nchw = m.output_size(size, size)[0], False
    size = 4  # G's linear layer makes 4 x 4 maps
    for i, up in enumerate(G.ups):
        layers.append(Layer(f"G tconv{i + 1}", "tconv", up.in_channels, up.out_channels, size,
                            up.kernel_size[0], up.stride[0], up.padding[0], up.output_padding[0], i == 0))
        size = up.output_size(size, size)[0]
    return layers


def main_gemm(layer):
    """(M, K, N) of the layer's forward matrix product."""
    if layer.kind == "conv":
        geometry = ConvGeometry.of((layer.k,) * 2, (layer.stride,) * 2, (layer.pad,) * 2)
        ho, wo = geometry.output_size(layer.size, layer.size)
        return layer.cout, layer.cin * layer.k**2, BATCH * ho * wo
    return layer.cout * layer.k**2, layer.cin, BATCH * layer.size**2  # w.T @ x, then col2im


def batch_last(a):
    """The same values stored (C, H, W, N) in memory, NCHW-shaped: what the numba kernels return."""
    return np.ascontiguousarray(a.transpose(1, 2, 3, 0)).transpose(3, 0, 1, 2)


def layer_calls(layer, rng):
    """The two kernel calls of one layer's forward + backward, as zero-argument functions."""
    st, pd, op = (layer.stride,) * 2, (layer.pad,) * 2, (layer.out_pad,) * 2
    x = rng.standard_normal((BATCH, layer.cin, layer.size, layer.size), dtype=np.float32)
    if not layer.nchw_input:
        x = batch_last(x)
    b = np.zeros(layer.cout, np.float32)
    if layer.kind == "conv":
        w = rng.standard_normal((layer.cout, layer.cin, layer.k, layer.k), dtype=np.float32)
        gy = batch_last(np.ones_like(kernels.conv2d_forward(x, w, b, st, pd)))
        saved = {}  # as the autograd layer does: the forward may keep its cols for grad_w
        return {
            "fwd": lambda: kernels.conv2d_forward(x, w, b, st, pd, saved=saved),
            "bwd": lambda: kernels.conv2d_backward(gy, x, w, st, pd, (True, True, True), saved=saved),
        }
    w = rng.standard_normal((layer.cin, layer.cout, layer.k, layer.k), dtype=np.float32)
    gy = batch_last(np.ones_like(kernels.conv_transpose2d_forward(x, w, b, st, pd, op)))
    return {
        "fwd": lambda: kernels.conv_transpose2d_forward(x, w, b, st, pd, op),
        "bwd": lambda: kernels.conv_transpose2d_backward(gy, x, w, st, pd),
    }


def bench_layer(layer, repeats, rng):
    """Median times of the two calls, and of the layer's main GEMM done by numpy, interleaved:
    the machine is shared, so each repeat times the layer and its yardstick back to back."""
    calls = layer_calls(layer, rng)
    m, k, n = main_gemm(layer)
    a = rng.standard_normal((m, k), dtype=np.float32)
    b = rng.standard_normal((k, n), dtype=np.float32)
    out = np.empty((m, n), np.float32)
    calls["matmul"] = lambda: np.matmul(a, b, out=out)
    for f in calls.values():  # warm-up (and compile, if the cache is cold)
        f()
    times = {name: [] for name in calls}
    for _ in range(repeats):
        for name, f in calls.items():
            t0 = time.perf_counter()
            f()
            times[name].append(time.perf_counter() - t0)
    med = {name: float(np.median(t)) for name, t in times.items()}
    total = float(np.median(np.sum([times[c] for c in ("fwd", "bwd")], axis=0)))
    gflop = 3 * 2 * m * k * n / 1e9
    return med, total, gflop, 2 * m * k * n / med["matmul"] / 1e9


def run_benchmark(sizes, repeats):
    t_start = time.perf_counter()
    print("\n".join(environment_report()))
    print(f"load average at the start (1, 5, 15 min): {os.getloadavg()}")
    print(f"backend: {kernels.get_backend()}, batch {BATCH}, float32, median of {repeats} repeats")
    peak_before = matmul_gflops(2048, 2048, 2048, repeats=repeats)
    rng = np.random.default_rng(0)
    ratios = []
    for size in sizes:
        print(f"\n### {size}x{size} networks\n")
        print("| layer | in -> out | GEMM (M, K, N) | fwd ms | bwd ms | total ms | GFLOP/s | "
              "matmul GFLOP/s | ratio |")
        print("|---|---|---|---:|---:|---:|---:|---:|---:|")
        for layer in paper_layers(size):
            med, total, gflop, ref = bench_layer(layer, repeats, rng)
            rate = gflop / total
            ratios.append(rate / ref)
            shape = f"{layer.cin}x{layer.size}² -> {layer.cout}"
            print(f"| {layer.name} | {shape} | {main_gemm(layer)} | {med['fwd'] * 1e3:.1f} | "
                  f"{med['bwd'] * 1e3:.1f} | {total * 1e3:.1f} | {rate:.0f} | {ref:.0f} | "
                  f"{rate / ref:.2f} |", flush=True)
    peak_after = matmul_gflops(2048, 2048, 2048, repeats=repeats)
    print(f"\nnumpy float32 2048x2048x2048 matmul (context): {peak_before:.0f} GFLOP/s before, "
          f"{peak_after:.0f} after the layers")
    print(f"layers at >= 0.70 of their matmul: {sum(r >= 0.7 for r in ratios)} / {len(ratios)}; "
          f"lowest ratio {min(ratios):.2f}")
    print(f"load average at the end (1, 5, 15 min): {os.getloadavg()}")
    print(f"benchmark wall time: {time.perf_counter() - t_start:.0f} s")


STARTUP_CHILD = """
import time
t0 = time.perf_counter()
import numpy as np
from tinydagan import kernels
t1 = time.perf_counter()
for dtype in (np.float32, np.float64):
    x = np.ones((2, 3, 6, 6), dtype); w = np.ones((4, 3, 3, 3), dtype); b = np.ones(4, dtype)
    y = kernels.conv2d_forward(x, w, b, (2, 2), (1, 1))
    kernels.conv2d_backward(y, x, w, (2, 2), (1, 1))
    x4 = np.ascontiguousarray(x[:, :, 1:5, 1:5])                      # no padding: other loops
    kernels.conv2d_backward(kernels.conv2d_forward(x4, w, b, (1, 1), (0, 0)), x4, w, (1, 1), (0, 0))
    wt = np.ones((3, 4, 3, 3), dtype)
    z = kernels.conv_transpose2d_forward(x, wt, b, (2, 2), (1, 1), (1, 1))
    kernels.conv_transpose2d_backward(z, x, wt, (2, 2), (1, 1))
    kernels.leaky_relu_backward(y, kernels.leaky_relu_forward(y, 0.2), 0.2)
t2 = time.perf_counter()
print(__import__("json").dumps({"import_s": t1 - t0, "first_calls_s": t2 - t1}))
"""


def run_startup(runs=3):
    """Start a fresh Python that imports the kernels and calls each once (float32 and float64),
    first with an empty NUMBA_CACHE_DIR (compiles everything), then with the cache it left."""
    root = str(Path(__file__).resolve().parents[1])
    print("| run | cache | process wall s | import s | first call of every kernel s |")
    print("|---|---|---:|---:|---:|")
    for run in range(runs):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=root)
            for label in ("empty (cold compile)", "warm (cached)"):
                t0 = time.perf_counter()
                child = subprocess.run([sys.executable, "-c", STARTUP_CHILD], env=env,
                                       capture_output=True, text=True)
                if child.returncode != 0:
                    sys.exit(f"the start-up child failed (exit {child.returncode}):\n{child.stderr[-2000:]}")
                out = child.stdout
                wall = time.perf_counter() - t0
                r = json.loads(out.strip().splitlines()[-1])
                print(f"| {run + 1} | {label} | {wall:.2f} | {r['import_s']:.2f} | {r['first_calls_s']:.2f} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, choices=(16, 32), action="append",
                        help="image size of the networks (default: both)")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--startup", action="store_true", help="measure cold vs cached start-up instead")
    args = parser.parse_args()
    if args.startup:
        run_startup()
    else:
        run_benchmark(args.size or [32, 16], args.repeats)


if __name__ == "__main__":
    main()
