"""Tutorial 03: the transposed convolution, and why the generator needs it.

Run:  python tutorials/03_transposed_conv.py     (seconds; needs no dataset)
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter).

A classifier shrinks an image to a few numbers; a generator must do the opposite, from a
4x4 map of features up to a 16x16 or 32x32 image, with weights it can learn. A stride-2
convolution halves the size; its TRANSPOSE doubles it.

What you will see
1. In 1-D: every input value stamps a scaled copy of the kernel onto the output, stride
   apart; where stamps overlap they add.
2. The same in 2-D as four loops, checked against the library's ConvTranspose2d.
3. Why "transposed": write a small Conv2d as a matrix A; the transposed conv is A^T.
4. The same layer as a plain convolution of a zero-stuffed input (a "fractionally
   strided" convolution).
5. Its output-size formula and output_padding: how the paper's G grows 4 -> 8 -> 16 -> 32.
6. The checkerboard footprint: how many kernel taps land on each output pixel (picture:
   out/03/overlap_counts.png), and what it does to an untrained layer.
"""
# %% Setup
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tinydagan import nn
from tinydagan.kernels import reference

np.set_printoptions(precision=2, suppress=True, linewidth=100)
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()   # a notebook has no __file__
OUT = HERE / "out" / "03"
OUT.mkdir(parents=True, exist_ok=True)


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


# %% 1. In one dimension: stamps of the kernel
section("1. In one dimension: stamps of the kernel")
x1 = np.array([1.0, 2.0, 3.0])
k1 = np.array([1.0, 1.0, 1.0])
stride = 2
length = (len(x1) - 1) * stride + len(k1)                  # (3 - 1)*2 + 3 = 7
y1 = np.zeros(length)
print(f"input {x1}, kernel {k1}, stride {stride}: output length (3 - 1)*2 + 3 = {length}")
for a, value in enumerate(x1):
    stamp = np.zeros(length)
    stamp[a * stride : a * stride + len(k1)] = value * k1   # input a lands at a*stride ...
    y1 += stamp                                             # ... and overlapping stamps ADD
    print(f"  x[{a}] = {value:.0f} stamps {stamp}")
print(f"  sum          {y1}")
print("Positions 2 and 4 got two stamps, the others one: with kernel 3 and stride 2 the stamps")
print("overlap unevenly. Keep this in mind for section 6.")

# %% 2. In two dimensions: four loops
section("2. In two dimensions: four loops")


def conv_transpose2d_loops(x, weight, stride, padding, output_padding):
    """The definition, one input element at a time (weight is (C_in, C_out, kH, kW)):
    y_full[n, :, a*s : a*s + k, b*s : b*s + k] += x[n, c, a, b] * weight[c]; then crop the
    padding from each border (output_padding adds rows/columns at the bottom/right)."""
    n, c_in, h, w = x.shape
    _, c_out, k, _ = weight.shape
    s, p = stride, padding
    full = np.zeros((n, c_out, (h - 1) * s + k + output_padding, (w - 1) * s + k + output_padding))
    for ni in range(n):
        for ci in range(c_in):
            for a in range(h):
                for b in range(w):
                    full[ni, :, a * s : a * s + k, b * s : b * s + k] += x[ni, ci, a, b] * weight[ci]
    return full[:, :, p : full.shape[2] - p, p : full.shape[3] - p]


rng = np.random.default_rng(0)
x = rng.standard_normal((2, 3, 4, 4))                           # (N, C_in, 4, 4)
layer = nn.ConvTranspose2d(3, 5, 5, stride=2, padding=2, output_padding=1, bias=False,
                           rng=rng, dtype=np.float64)
print(f"ConvTranspose2d(3, 5, kernel 5, stride 2, padding 2, output_padding 1): weight {layer.weight.shape}"
      " = (in, out, kH, kW)")
y_loops = conv_transpose2d_loops(x, layer.weight.data, 2, 2, 1)
y_layer = layer(x).data
print(f"x {x.shape} -> loops {y_loops.shape}, layer {y_layer.shape}; "
      f"max |loops - layer| = {np.abs(y_loops - y_layer).max():.1e}")
assert np.allclose(y_loops, y_layer)

# %% 3. Why "transposed": the matrix of a convolution
section('3. Why "transposed": the matrix of a convolution')
# A convolution is linear, so it is a matrix: conv2d(x) = A @ x.ravel(). Find A column by
# column, by convolving each basis image (a single 1 among zeros).
w_small = rng.standard_normal((1, 1, 3, 3))                     # Conv2d weight (out, in, kH, kW)
side = 4


def conv(v):                                                     # 4x4 -> 2x2: k 3, s 2, p 1
    return reference.conv2d_forward(v.reshape(1, 1, side, side), w_small, None, (2, 2), (1, 1)).ravel()


def conv_t(v):                                                   # 2x2 -> 4x4, the same weight
    return reference.conv_transpose2d_forward(v.reshape(1, 1, 2, 2), w_small, None, (2, 2), (1, 1), (1, 1)).ravel()


A = np.stack([conv(e) for e in np.eye(side * side)], axis=1)     # (4, 16)
B = np.stack([conv_t(e) for e in np.eye(4)], axis=1)             # (16, 4)
print(f"Conv2d(k=3, s=2, p=1) on 4x4 -> 2x2 is a matrix A {A.shape};")
print(f"ConvTranspose2d with the same weight, 2x2 -> 4x4, is a matrix B {B.shape};")
print(f"max |B - A^T| = {np.abs(B - A.T).max():.1e}: the transposed convolution IS A^T.")
assert np.allclose(B, A.T)
xv, gv = rng.standard_normal(16), rng.standard_normal(4)
print(f"so <A x, g> = {conv(xv) @ gv:.6f} equals <x, A^T g> = {xv @ conv_t(gv):.6f} for any x, g")
print("A^T is also what backward() needs for a conv's input gradient (grad_x = A^T grad_y):")
print("the library computes the transposed convolution with conv2d's input-gradient kernel,")
print("and the transposed conv's input gradient with a plain conv2d.")

# %% 4. The same layer as a convolution of a zero-stuffed input
section("4. The same layer as a convolution of a zero-stuffed input")


def zero_stuffed(x, stride, kernel, padding, output_padding):
    """Put stride-1 zeros between the pixels, then a border of kernel-1-padding zeros
    (output_padding more at the bottom/right)."""
    n, c, h, w = x.shape
    up = np.zeros((n, c, (h - 1) * stride + 1, (w - 1) * stride + 1))
    up[:, :, ::stride, ::stride] = x
    e = kernel - 1 - padding
    return np.pad(up, ((0, 0), (0, 0), (e, e + output_padding), (e, e + output_padding)))


stuffed = zero_stuffed(x, 2, 5, 2, 1)                            # (2, 3, 12, 12)
# The weight turned into a Conv2d weight: swap in/out and rotate each kernel by 180 degrees.
w_conv = layer.weight.data.transpose(1, 0, 2, 3)[:, :, ::-1, ::-1]
y_stuffed = reference.conv2d_forward(stuffed, np.ascontiguousarray(w_conv), None, (1, 1), (0, 0))
print(f"x {x.shape} zero-stuffed and padded: {stuffed.shape}; one channel of one image:")
print(stuffed[0, 0, :6, :6].round(1))
print(f"stride-1 Conv2d with the rotated weight -> {y_stuffed.shape}; "
      f"max |that - ConvTranspose2d| = {np.abs(y_stuffed - y_layer).max():.1e}")
assert np.allclose(y_stuffed, y_layer)
print("Three quarters of that input are zeros, so computing it this way wastes work; the")
print("library scatters instead (section 2's loops, as matrix products).")

# %% 5. Output size, and how the generator grows its images
section("5. Output size, and how the generator grows its images")
print("ConvTranspose2d: out = (in - 1)*stride - 2*padding + kernel_size + output_padding")
h = np.zeros((1, 4, 4, 4), np.float32)                           # (N, C, 4, 4), G's first map
for _ in range(3):
    up = nn.ConvTranspose2d(h.shape[1], 4, 5, stride=2, padding=2, output_padding=1, rng=rng)
    size_in = h.shape[2]
    h = up(h).data
    print(f"  ConvTranspose2d(k=5, s=2, p=2, output_padding=1): {size_in}x{size_in} -> {h.shape[2]}x{h.shape[3]}"
          f"   ({size_in} - 1)*2 - 2*2 + 5 + 1 = {h.shape[2]}")
down = nn.Conv2d(1, 1, 5, stride=2, padding=2, rng=rng)
sizes = {n: down(np.zeros((1, 1, n, n), np.float32)).shape[2] for n in (7, 8)}
print(f"Why output_padding = 1: a stride-2 Conv2d(k=5, p=2) maps 7x7 to {sizes[7]}x{sizes[7]} and 8x8 "
      f"to {sizes[8]}x{sizes[8]},")
print("so the transposed conv must be told which size to produce; output_padding = 1 picks 8.")
print("The paper's generator (tutorial 02, section 5) is a Linear layer to a 4x4 map, then")
print("these layers: two for 16x16 images, three for 32x32.")

# %% 6. The checkerboard footprint
section("6. The checkerboard footprint")


def overlap_count(kernel, stride, size=8):
    """How many kernel taps land on each output pixel: a transposed conv of an all-ones
    size x size input with an all-ones kernel (no padding; the border is cropped below)."""
    ones = np.ones((1, 1, size, size))
    return reference.conv_transpose2d_forward(ones, np.ones((1, 1, kernel, kernel)), None,
                                              (stride, stride), (0, 0), (0, 0))[0, 0]


def interior(counts, kernel):
    return counts[kernel:-kernel, kernel:-kernel]                # away from the border


settings = [(3, 2, "kernel 3, stride 2"), (4, 2, "kernel 4, stride 2"),
            (5, 2, "kernel 5, stride 2 (the paper's G)")]
panels = []
for k, s, label in settings:
    counts = interior(overlap_count(k, s), k)
    lo, hi = counts.min(), counts.max()
    print(f"{label}: taps per output pixel range {lo:.0f} .. {hi:.0f}; a 4x4 piece of the middle:")
    print(counts[:4, :4].astype(int))
    panels.append((label, counts))
print("When the kernel size is not a multiple of the stride, neighbouring pixels receive")
print("different numbers of stamps: even with all weights equal and a constant input, the")
print("output is a grid pattern of period 2, a checkerboard. Kernel 4 with stride 2 is even.")


def save_panels(panels, path, scale=22):
    """Each count map as a grey image (white = most taps), side by side, labelled."""
    tiles = []
    for label, counts in panels:
        grey = (255 * counts / counts.max()).astype(np.uint8)
        tile = Image.fromarray(grey, "L").resize((counts.shape[1] * scale, counts.shape[0] * scale),
                                                 Image.NEAREST).convert("RGB")
        canvas = Image.new("RGB", (tile.width + 20, tile.height + 40), "white")
        canvas.paste(tile, (10, 30))
        draw = ImageDraw.Draw(canvas)
        draw.text((10, 8), f"{label}: {counts.min():.0f}..{counts.max():.0f} taps", fill="black")
        draw.rectangle([9, 29, 10 + tile.width, 30 + tile.height], outline=(90, 90, 90))
        for a in range(counts.shape[0]):
            for b in range(counts.shape[1]):
                draw.text((10 + b * scale + 7, 30 + a * scale + 5), f"{counts[a, b]:.0f}",
                          fill="black" if counts[a, b] > counts.max() / 2 else "white")
        tiles.append(canvas)
    strip = Image.new("RGB", (sum(t.width for t in tiles), max(t.height for t in tiles)), "white")
    x0 = 0
    for t in tiles:
        strip.paste(t, (x0, 0))
        x0 += t.width
    strip.save(path)


png = OUT / "overlap_counts.png"
save_panels(panels, png)
print(f"picture of the three footprints: {png}")

# What the footprint does to a layer at initialisation: random weights, constant input.
layer = nn.ConvTranspose2d(1, 1, 5, stride=2, padding=2, output_padding=1, bias=False, rng=rng,
                           dtype=np.float64)
flat = np.ones((1, 1, 8, 8))
y0 = layer(flat).data[0, 0, 4:12, 4:12]                          # (8, 8) from the middle
print("\nAn untrained ConvTranspose2d(k=5, s=2) fed a CONSTANT 8x8 map; the middle of its output:")
print(y0)
phases = {(i, j): y0[i::2, j::2] for i in (0, 1) for j in (0, 1)}
for (i, j), values in phases.items():
    print(f"  pixels at (even/odd row, col) = ({'eo'[i]}, {'eo'[j]}): all equal {values[0, 0]:+.3f} "
          f"(spread {np.ptp(values):.0e})")
print("Each of the four phases adds a different subset of the 25 weights (9, 6, 6 and 4 of them),")
print("so a flat input comes out as a 2x2 tile repeated: the checkerboard. Training has to learn")
print("weights that cancel it; a young generator shows it (tutorial 06's first sample grids).")
# The common remedy: upsample by repeating pixels (every output pixel then has the same
# footprint), then a stride-1 convolution.
repeated = flat.repeat(2, axis=2).repeat(2, axis=3)               # nearest-neighbour x2
conv5 = nn.Conv2d(1, 1, 5, padding=2, bias=False, rng=rng, dtype=np.float64)
y_nn = conv5(repeated).data[0, 0, 4:12, 4:12]
print(f"Nearest-neighbour x2 then Conv2d(k=5, p=2) on the same input: spread of the middle "
      f"{np.ptp(y_nn):.0e} (flat).")

# %% Summary
section("Summary")
print("""- A transposed convolution stamps a scaled copy of the kernel for every input pixel,
  stride apart, and adds where stamps overlap: it grows a map by the stride.
- It is the transpose of a convolution's matrix (<A x, g> = <x, A^T g>), which is also why
  it is the input gradient of Conv2d, and why its weight is (in, out, kH, kW).
- Equivalently: insert stride-1 zeros between pixels and run an ordinary convolution with
  the kernel rotated by 180 degrees.
- out = (in - 1)*s - 2p + k + output_padding; k=5, s=2, p=2, output_padding=1 doubles.
- When k is not a multiple of s, output pixels get different numbers of taps: a flat input
  gives a periodic, checkerboard output, which the generator must learn to cancel.""")
section("Exercises")
print("""1. (10 min) Predict the overlap counts of kernel 6, stride 2 and of kernel 5, stride 3, then
   check them with overlap_count. Which kernel sizes are free of the pattern at stride 2?
2. (15 min) Use zero_stuffed to compute a stride-3, padding-1, output_padding-2
   ConvTranspose2d(2, 3, 4) and compare with the layer.
3. (10 min) Redo section 3 with a stride-2 Conv2d(k=4, p=1). Which output_padding makes B
   equal to A^T for a 4x4 input, and which for a 5x5 input?
4. (15 min) Replace the last layer of the 16x16 generator by nearest x2 + Conv2d(k=5, p=2)
   on paper: how many parameters and multiply-adds does it cost, against the transposed conv?
Graded, with `python -m tinydagan.exercises new my_work` then `grade my_work`: the task
conv_transpose2d (about 15 min).""")
