"""Time one DAGAN iteration (D step on a real and a generated batch, then G step).

    python benchmarks/train_step.py                 # 16x16 width 0.5 and 32x32 width 1.0
    python benchmarks/train_step.py --size 16 --repeats 20

An iteration is exactly what the DAGAN method's ``train_step`` (``tinydagan.training.methods``)
does at batch 64: G forward, D forward + backward on the real and the generated batch
(L_D + L_c), Adam step, then D forward + backward through the generated batch into G (L_G),
Adam step.

Yardstick, measured in the same run: every matrix product the kernels hand to BLAS during
one iteration is recorded (shape and count) by wrapping the kernel functions, and the same
products are then timed as bare ``numpy.matmul`` calls. The ratio

    ratio = (time of those bare matmuls) / (time of the iteration)
          = effective GFLOP/s of the iteration / numpy's matmul GFLOP/s on the same shapes

is the fraction of the machine's BLAS speed the whole iteration achieves (the earlier target
was >= 0.60 of numpy's speed). Iteration and yardstick are timed alternately, repeat by repeat, and the ratio
is the median of the per-repeat ratios (the shared machine's speed drifts). The
2048x2048 matmul GFLOP/s (the practical peak) is printed for context, and so are the
minor page faults per iteration (compare a run with TINYDAGAN_KEEP_MEMORY=0, see
tinydagan/memory.py).
"""
import argparse
import os
import resource
import sys
import time

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import environment_report, matmul_gflops  # noqa: E402

import tinydagan.kernels as kernels  # noqa: E402
from tinydagan.kernels import numba_conv  # noqa: E402
from tinydagan.kernels.geometry import ConvGeometry  # noqa: E402
from tinydagan.training import TrainConfig  # noqa: E402
from tinydagan.training.methods import get_method  # noqa: E402
from tinydagan.optim import Adam  # noqa: E402


def _gemm_shapes(name, args):
    """The (M, K, N) products one kernel call performs, as in numba_conv.py."""
    if name == "conv2d_forward":
        x, w = args[0], args[1]
        o, c, kh, kw = w.shape
        ho, wo = ConvGeometry.of((kh, kw), args[3], args[4]).output_size(*x.shape[2:])
        return [(o, c * kh * kw, x.shape[0] * ho * wo)]
    if name == "conv2d_backward":  # (grad_y, x, weight, stride, padding, needs)
        g, x, w, needs = args[0], args[1], args[2], args[5] if len(args) > 5 else (True, True, True)
        o, c, kh, kw = w.shape
        m = g.shape[0] * g.shape[2] * g.shape[3]
        grad_x = (c * kh * kw, o, m)                  # col2im(w2.T @ grad_y2)
        if numba_conv.input_gradient_is_a_conv(ConvGeometry.of((kh, kw), args[3], args[4]), w.shape, x.shape):
            grad_x = (c, o * kh * kw, m)              # a conv of grad_y (numba_conv._input_gradient)
        return [s for s, need in ((grad_x, needs[0]), ((o, m, c * kh * kw), needs[1])) if need]
    if name == "conv_transpose2d_forward":  # = conv2d_backward_input with the roles swapped
        x, w = args[0], args[1]
        cin, cout, kh, kw = w.shape
        return [(cout * kh * kw, cin, x.shape[0] * x.shape[2] * x.shape[3])]
    if name == "conv_transpose2d_backward":  # grad_x = conv2d of grad_y; grad_w shares its im2col
        x, w, needs = args[1], args[2], args[5] if len(args) > 5 else (True, True, True)
        cin, cout, kh, kw = w.shape
        m = x.shape[0] * x.shape[2] * x.shape[3]
        return [s for s, need in (((cin, cout * kh * kw, m), needs[0]), ((cin, m, cout * kh * kw), needs[1]))
                if need]
    return []


def record_gemms(fn):
    """Run fn() once with the kernels wrapped; return the list of (M, K, N) products."""
    shapes, originals = [], {}
    names = ["conv2d_forward", "conv2d_backward", "conv_transpose2d_forward",
             "conv_transpose2d_backward"]
    for name in names:
        originals[name] = getattr(kernels, name)

        def wrapped(*args, _name=name, **kw):
            shapes.extend(_gemm_shapes(_name, args))
            return originals[_name](*args, **kw)
        setattr(kernels, name, wrapped)
    try:
        fn()
    finally:
        for name, f in originals.items():
            setattr(kernels, name, f)
    return shapes


def bare_matmuls(shapes):
    """A function doing the same products as bare ``numpy.matmul`` calls on fresh operands."""
    rng = np.random.default_rng(0)
    mats = [(rng.standard_normal((m, k), dtype=np.float32), rng.standard_normal((k, n), dtype=np.float32),
             np.empty((m, n), np.float32)) for m, k, n in shapes]

    def run():
        for a, b, out in mats:
            np.matmul(a, b, out=out)
    return run


def bench(image_size, width, batch, repeats):
    cfg = TrainConfig(method="DAGAN", image_size=image_size, width=width, batch_size=batch)
    rng = np.random.default_rng(0)
    method = get_method(cfg.method)
    D, G = method.build_models(cfg, 10, rng)
    opt_d = Adam(D.parameters(), cfg.lr, (cfg.beta1, 0.999))
    opt_g = Adam(G.parameters(), cfg.lr, (cfg.beta1, 0.999))
    x = rng.uniform(-1, 1, (batch, 3, image_size, image_size)).astype(np.float32)
    y = rng.integers(0, 10, batch)

    def step():
        method.train_step(cfg, D, G, opt_d, opt_g, x, y, 10, rng)

    step()  # warm-up: compiles or loads the kernels
    shapes = record_gemms(step)
    flops = sum(2.0 * m * k * n for m, k, n in shapes)
    matmuls = bare_matmuls(shapes)
    matmuls()
    for _ in range(2):  # settle the heap around the yardstick's arrays (page faults, see memory.py)
        step()
    # The machine is shared and its speed drifts: each repeat times one iteration and then
    # its yardstick (the same products as bare matmuls) back to back, and the ratio is the
    # median of the per-repeat ratios.
    t_iter, t_mm, faults = [], [], 0
    for _ in range(repeats):
        f0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
        t0 = time.perf_counter()
        step()
        t1 = time.perf_counter()
        faults += resource.getrusage(resource.RUSAGE_SELF).ru_minflt - f0
        matmuls()
        t2 = time.perf_counter()
        t_iter.append(t1 - t0)
        t_mm.append(t2 - t1)
    t_iter, t_mm = np.array(t_iter), np.array(t_mm)
    med_iter, med_mm = float(np.median(t_iter)), float(np.median(t_mm))
    return {"size": image_size, "width": width, "iter_s": med_iter, "iter_min_s": float(t_iter.min()),
            "iter_max_s": float(t_iter.max()), "gflop": flops / 1e9, "gflops": flops / med_iter / 1e9,
            "matmul_s": med_mm, "matmul_gflops": flops / med_mm / 1e9,
            "ratio": float(np.median(t_mm / t_iter)), "n_gemms": len(shapes), "faults": faults / repeats}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, choices=(16, 32), action="append",
                        help="image size (repeatable; default: 16 then 32)")
    parser.add_argument("--repeats", type=int, default=10, help="timed iterations (median)")
    parser.add_argument("--batch", type=int, default=64)
    args = parser.parse_args()
    t_start = time.perf_counter()
    for line in environment_report():
        print(line)
    print(f"load average at start: {os.getloadavg()[0]:.2f}, kernel backend: {kernels.get_backend()}")
    peak = matmul_gflops(2048, 2048, 2048)
    print(f"numpy float32 matmul 2048^3: {peak:.1f} GFLOP/s")
    print()
    print("| networks | GFLOP per iteration | GEMMs | iteration ms (median, min-max) | GFLOP/s | "
          "same GEMMs as bare matmul: ms, GFLOP/s | ratio (median per repeat) | page faults per iteration |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for size in args.size or [16, 32]:
        width = 0.5 if size == 16 else 1.0
        r = bench(size, width, args.batch, args.repeats)
        print(f"| {size}x{size}, width {width} | {r['gflop']:.2f} | {r['n_gemms']} | "
              f"{1e3 * r['iter_s']:.0f} ({1e3 * r['iter_min_s']:.0f}-{1e3 * r['iter_max_s']:.0f}) | "
              f"{r['gflops']:.1f} | {1e3 * r['matmul_s']:.0f}, {r['matmul_gflops']:.1f} | "
              f"{r['ratio']:.2f} | {r['faults']:.0f} |", flush=True)
    print(f"\nload average at end: {os.getloadavg()[0]:.2f}; wall time {time.perf_counter() - t_start:.0f} s")


if __name__ == "__main__":
    main()
