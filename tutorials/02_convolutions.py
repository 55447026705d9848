"""Tutorial 02: convolutions, from loops to im2col, and the paper's two networks layer by layer.

Run:  python tutorials/02_convolutions.py        (seconds; needs no dataset)
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter).

What you will see
1. conv2d three ways -- Python loops, the numpy reference kernel, the Numba kernel --
   giving the same numbers, and how long each takes on a small batch.
2. The im2col idea: a convolution is one matrix product (picture: out/02/im2col.png).
3. The output-size formula of Conv2d, checked against real layers.
4. NIN = a 1x1 convolution = one small fully connected layer applied at every pixel.
5. Every layer's output shape and parameter count of the paper's discriminator and
   generator (Table 2), at 32x32 width 1.0 (the paper) and 16x16 width 0.5 (classroom).
6. Winograd's F(2x2, 3x3): the same 3x3 convolution with 2.25x fewer multiplications.
The transposed convolution, which the generator uses to grow images, is tutorial 03.
"""
# %% Setup
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tinydagan import kernels, nn
from tinydagan.kernels import numba_conv, reference, winograd
from tinydagan.kernels.geometry import ConvGeometry
from tinydagan.models import Discriminator, Generator

np.set_printoptions(precision=3, suppress=True)
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()   # a notebook has no __file__
OUT = HERE / "out" / "02"
OUT.mkdir(parents=True, exist_ok=True)


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def best_time(fn, repeats=3):
    """Best of ``repeats`` wall-clock runs, in milliseconds (the minimum is the least noisy)."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return 1000 * min(times)


WINDOW_COLOURS = [(230, 85, 70), (60, 130, 230), (40, 170, 90), (230, 160, 30)]


def draw_im2col(image, cols, kernel, y, path, cell=34, small=19):
    """A picture of im2col: the image four times, each with one window shaded (one colour per
    output pixel), the cols matrix with that window's column in the same colour, and the
    kernel's weights beside it: output pixel q = kernel . column q."""
    h, w = image.shape
    n_rows, n_cols = cols.shape
    top, left = 40, 10
    canvas = Image.new("RGB", (left + small * w + cell * (n_cols + 8) + 20, top + cell * n_rows + 40), "white")
    draw = ImageDraw.Draw(canvas)

    def box(x0, y0, value, size, fill="white"):
        draw.rectangle([x0, y0, x0 + size, y0 + size], fill=fill, outline=(120, 120, 120))
        draw.text((x0 + 4, y0 + size // 2 - 5), f"{value:g}", fill="black")

    def tint(colour):
        return tuple(int(255 - 0.4 * (255 - c)) for c in colour)

    draw.text((left, top - 30), "image, window q", fill="black")
    for q, colour in enumerate(WINDOW_COLOURS):      # the window under output pixel q = (qa, qb)
        qa, qb = divmod(q, 2)
        y0 = top + q * (small * h + 8)
        for a in range(h):
            for b in range(w):
                inside = qa <= a < qa + 3 and qb <= b < qb + 3
                box(left + b * small, y0 + a * small, image[a, b], small, tint(colour) if inside else "white")
    x_cols = left + small * w + cell
    draw.text((x_cols, top - 30), "cols (9, 4): column q = window q", fill="black")
    for r in range(n_rows):
        for q in range(n_cols):
            box(x_cols + q * cell, top + r * cell, cols[r, q], cell, tint(WINDOW_COLOURS[q]))
    x_k = x_cols + cell * (n_cols + 1)
    draw.text((x_k, top - 30), "kernel", fill="black")
    for r, v in enumerate(kernel):                   # the kernel's 9 weights, one per row of cols
        box(x_k, top + r * cell, v, cell, (235, 235, 235))
    x_y = x_k + cell * 2
    draw.text((x_y, top + 4 * cell - 22), "output q = kernel . column q", fill="black")
    for q, v in enumerate(y):
        box(x_y + q * cell, top + 4 * cell, v, cell, tint(WINDOW_COLOURS[q]))
    canvas.save(path)


# %% 1. conv2d three ways
section("1. conv2d three ways")


def conv2d_loops(x, weight, bias, stride, padding):
    """The definition, one output element at a time:
    y[n, o, a, b] = bias[o] + sum_{c,i,j} weight[o, c, i, j] * x_pad[n, c, a*s + i, b*s + j]."""
    n, c, h, w = x.shape
    o, _, kh, kw = weight.shape
    s, p = stride, padding
    ho, wo = (h + 2 * p - kh) // s + 1, (w + 2 * p - kw) // s + 1
    xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))
    y = np.empty((n, o, ho, wo), x.dtype)
    for ni in range(n):
        for oi in range(o):
            for a in range(ho):
                for b in range(wo):
                    window = xp[ni, :, a * s : a * s + kh, b * s : b * s + kw]   # (C, kH, kW)
                    y[ni, oi, a, b] = bias[oi] + np.sum(window * weight[oi])
    return y


rng = np.random.default_rng(0)
x = rng.standard_normal((4, 8, 16, 16)).astype(np.float32)      # (N, C_in, H, W)
weight = rng.standard_normal((16, 8, 3, 3)).astype(np.float32)  # (C_out, C_in, kH, kW)
bias = rng.standard_normal(16).astype(np.float32)
print(f"x {x.shape}, weight {weight.shape}, stride 1, padding 1")

numba_conv.conv2d_forward(x, weight, bias, (1, 1), (1, 1))   # first call: load/compile the kernel
y_loops = conv2d_loops(x, weight, bias, 1, 1)
y_ref = reference.conv2d_forward(x, weight, bias, (1, 1), (1, 1))
y_numba = numba_conv.conv2d_forward(x, weight, bias, (1, 1), (1, 1))
print("output shape:", y_ref.shape)
print(f"max |loops - reference| = {np.abs(y_loops - y_ref).max():.2e}")
print(f"max |numba - reference| = {np.abs(y_numba - y_ref).max():.2e}  (float32 sums in another order)")
assert np.allclose(y_loops, y_ref, atol=1e-4) and np.allclose(y_numba, y_ref, atol=1e-4)
t_loops = best_time(lambda: conv2d_loops(x, weight, bias, 1, 1), repeats=1)
t_ref = best_time(lambda: reference.conv2d_forward(x, weight, bias, (1, 1), (1, 1)))
t_numba = best_time(lambda: numba_conv.conv2d_forward(x, weight, bias, (1, 1), (1, 1)))
print(f"time: loops {t_loops:8.1f} ms | reference (numpy einsum per offset) {t_ref:6.2f} ms | "
      f"numba (im2col + BLAS) {t_numba:6.2f} ms")
print("(timings are noisy on a shared machine; with NUMBA_DISABLE_JIT=1 the 'numba' kernel")
print(" runs as plain Python and is slow -- that mode exists so you can step through it.)")
print("The layers call whichever backend is active:", repr(kernels.get_backend()),
      "(set TINYDAGAN_BACKEND=reference, or kernels.use_backend('reference') in code)")

# %% 2. im2col: a convolution as one matrix product
section("2. im2col: a convolution as one matrix product")
# One image, one channel, 4x4; a 3x3 kernel without padding gives a 2x2 output.
img = np.arange(16, dtype=np.float32).reshape(1, 1, 4, 4)          # (N=1, C=1, 4, 4)
k = np.array([[[[1, 0, -1], [1, 0, -1], [1, 0, -1]]]], np.float32)  # (O=1, C=1, 3, 3)
print("input image:\n", img[0, 0])
# Each output pixel (a, b) is computed from one 3x3 window of the input. Write every window
# out as a COLUMN of 9 numbers: cols[(c, i, j), (n, a, b)] = x[n, c, a + i, b + j].
cols_by_hand = np.stack([img[0, 0, a:a + 3, b:b + 3].reshape(-1)
                         for a in range(2) for b in range(2)], axis=1)   # (9, 4)
print("cols (9 kernel offsets x 4 output pixels):\n", cols_by_hand)
# Then each output pixel is the dot product of the flattened kernel with its column, and all
# four together are ONE matrix product: kernel row (1, 9) @ cols (9, 4) -> (1, 4).
y_mat = (k.reshape(1, 9) @ cols_by_hand).reshape(1, 1, 2, 2)
print("kernel (1, 9) @ cols (9, 4) ->", y_mat.reshape(-1), "  conv2d ->",
      reference.conv2d_forward(img, k, None, (1, 1), (0, 0)).reshape(-1))
# The reference kernel builds the same matrix from its patch loop (kernel size, stride and
# padding travel together as one ConvGeometry).
geometry = ConvGeometry.of(k.shape[2:], (1, 1), (0, 0))
assert np.array_equal(reference.im2col(img, geometry), cols_by_hand)
print("reference.im2col gives the same matrix:", np.array_equal(reference.im2col(img, geometry), cols_by_hand))
png = OUT / "im2col.png"
draw_im2col(img[0, 0], cols_by_hand, k.reshape(-1), y_mat.reshape(-1), png)
print("picture of the windows and their columns:", png)

# The same idea scales to every dimension of section 1's batch. With C input channels a
# column holds C*kH*kW numbers; O output channels make the kernel a matrix (O, C*kH*kW);
# N images of Ho*Wo output pixels give N*Ho*Wo columns.
cols = reference.im2col(x, ConvGeometry.of(weight.shape[2:], (1, 1), (1, 1)))
print(f"section 1's batch: weight {weight.shape} -> matrix {weight.reshape(16, -1).shape}; "
      f"cols {cols.shape}; product {(weight.reshape(16, -1) @ cols).shape} = (O, N*Ho*Wo)")
y_step = reference.conv2d_forward_im2col(x, weight, bias, (1, 1), (1, 1))
print(f"max |conv2d_forward_im2col - conv2d_forward| = {np.abs(y_step - y_ref).max():.1e}")
# The bias is a weight too: the weight of an input that is always 1. Append a row of ones
# to cols and the bias as one more column of the kernel matrix, and the product adds it.
b_demo = np.array([0.5], np.float32)
y_bias = np.concatenate([k.reshape(1, 9), b_demo[:, None]], axis=1) @ np.vstack([cols_by_hand, np.ones((1, 4))])
print("[kernel | bias] (1, 10) @ [cols; ones] (10, 4) ->", y_bias.reshape(-1), "  conv2d + 0.5 ->",
      reference.conv2d_forward(img, k, b_demo, (1, 1), (0, 0)).reshape(-1))
assert np.allclose(y_bias.reshape(-1), reference.conv2d_forward(img, k, b_demo, (1, 1), (0, 0)).reshape(-1))
print(f"""
Why write a convolution this way? A matrix product is the best-optimised operation in
numerical computing: the BLAS library behind numpy cuts it into blocks that fit in the
processor's cache and runs them on every core, so one ({weight.shape[0]} x {cols.shape[0]}) @ ({cols.shape[0]} x {cols.shape[1]}) product
beats {weight.shape[0] * cols.shape[1]:,d} separate dot products. The price is memory: every input pixel is copied
into up to kH*kW = 9 columns, so cols is about 9 times larger than x. The Numba kernel of
section 1 (kernels/numba_conv.py) starts from exactly this product; its docstring lists,
one numbered step at a time, what it changes to go faster, each step tested against
the reference.""")

# %% 3. Output sizes
section("3. Output sizes")
print("Conv2d: out = (in + 2*padding - kernel_size) // stride + 1")
cases = [(32, 3, 1, 1), (32, 3, 2, 1), (16, 3, 2, 1), (8, 3, 1, 0), (6, 1, 1, 0)]
for size, ks, st, pad in cases:
    layer = nn.Conv2d(2, 2, ks, st, pad, rng=rng)
    formula = (size + 2 * pad - ks) // st + 1
    actual = layer(np.zeros((1, 2, size, size), np.float32)).shape[2]
    print(f"  Conv2d k={ks} s={st} p={pad}: {size:2d} -> {formula:2d} (formula)  {actual:2d} (layer)")
    assert formula == actual
print("padding = (kernel_size - 1) / 2 keeps the size at stride 1; stride 2 halves it (rounding up).")
print("The generator needs the opposite, a layer that DOUBLES the size: tutorial 03.")

# %% 4. NIN: a 1x1 convolution
section("4. NIN: a 1x1 convolution")
nin = nn.NIN(6, 3, rng=rng)
feat = rng.standard_normal((2, 6, 5, 5)).astype(np.float32)   # (N, C, H, W)
y_nin = nin(feat).data                                         # (2, 3, 5, 5)
# the same thing as a fully connected layer applied to the 6-vector at each pixel
w2 = nin.weight.data.reshape(3, 6)
y_fc = np.einsum("oc,nchw->nohw", w2, feat) + nin.bias.data[None, :, None, None]
print(f"NIN weight {nin.weight.shape}; output {y_nin.shape}; "
      f"max |NIN - per-pixel FC| = {np.abs(y_nin - y_fc).max():.1e}")
print("The discriminator ends with two NIN layers and global average pooling (one number per")
print("feature map) before its last Linear: no large flatten + fully connected layer.")

# %% 5. The paper's networks, layer by layer
section("5. The paper's networks, layer by layer")


def trace(model, *inputs):
    """Run model(*inputs) with every leaf layer reporting its input and output shapes
    (a forward hook, done by wrapping each leaf module's forward)."""
    rows = []
    for name, module in model.named_modules():
        if module._modules:          # only leaves: Conv2d, Linear, BatchNorm, ...
            continue
        original = module.forward

        def hooked(x, *args, _name=name, _m=module, _f=original, **kwargs):
            y = _f(x, *args, **kwargs)
            params = sum(p.size for p in _m._parameters.values())
            rows.append((_name.rstrip("."), type(_m).__name__, tuple(x.shape), tuple(y.shape), params))
            return y

        object.__setattr__(module, "forward", hooked)
    try:
        out = model(*inputs)
    finally:
        for _, module in model.named_modules():
            module.__dict__.pop("forward", None)
    for name, kind, shape_in, shape_out, params in rows:
        print(f"  {name:10s} {kind:16s} {str(shape_in):18s} -> {str(shape_out):18s} {params:>9,d} params")
    return out


K = 10
for size, width in ((32, 1.0), (16, 0.5)):
    D = Discriminator(2 * K, width=width, rng=np.random.default_rng(0)).eval()
    G = Generator(K, image_size=size, width=width, rng=np.random.default_rng(0)).eval()
    print(f"\n-- Discriminator, {size}x{size}, width {width}, 2K = {2 * K} outputs "
          f"(LeakyReLU after each conv; global average pooling before fc) --")
    logits = trace(D, np.zeros((1, 3, size, size), np.float32))
    print(f"  total {D.num_parameters():,d} parameters; logits {logits.shape}")
    print(f"\n-- Generator, {size}x{size}, width {width}: z (1, 100) + one-hot y (1, {K}) --")
    print(f"  (the +{K} input channels of each transposed conv are the label maps)")
    images = trace(G, np.zeros((1, 100), np.float32), np.array([3]))
    print(f"  total {G.num_parameters():,d} parameters; images {images.shape} in [-1, 1] (tanh)")

# %% 6. Winograd: the same convolution with fewer multiplications
section("6. Winograd: the same convolution with fewer multiplications")
# Two outputs of a 3-tap filter over 4 inputs take 6 multiplications directly, 4 this way:
rng = np.random.default_rng(7)
d, g = rng.standard_normal(4), rng.standard_normal(3)
direct = np.array([d[0:3] @ g, d[1:4] @ g])
m = (winograd.G @ g) * (winograd.BT @ d)            # 4 multiplications, element by element
print(f"direct {direct}   Winograd A^T[(G g) * (B^T d)] = {winograd.AT @ m}")
assert np.allclose(winograd.AT @ m, direct)
# In 2-d: a 4x4 tile of input gives a 2x2 tile of output with 16 multiplications instead of 36,
# and over channels the 16 element-wise products become 16 matrix products.
x = rng.standard_normal((2, 8, 6, 6))
w = rng.standard_normal((4, 8, 3, 3))
y_win = winograd.conv2d_forward(x, w, None, (1, 1))
y_ref = reference.conv2d_forward(x, w, None, (1, 1), (1, 1))
print(f"F(2x2, 3x3) on x {x.shape}, w {w.shape}: max |Winograd - reference| = "
      f"{np.abs(y_win - y_ref).max():.1e}")
assert np.allclose(y_win, y_ref)
print("multiplications per 2x2 output tile and (o, c) pair: im2col 36, Winograd 16 (2.25x fewer)")
print(f"the Numba backend uses it for 3x3 stride-1 convs with >= {numba_conv.WINOGRAD_MIN_PIXELS} "
      f"output pixels and >= {numba_conv.WINOGRAD_MIN_CHANNELS} input channels (the 32x32 networks):")
print("on smaller, shallower layers the transforms and the C-deep products cost more than they save.")

# %% Summary
section("Summary")
print("""- A convolution is a sum over kernel offsets; loops, the numpy reference and the Numba
  im2col + BLAS kernel compute the same numbers, at very different speeds.
- im2col turns every window into a column, so a conv layer becomes one matrix product
  (O, C*kH*kW) @ (C*kH*kW, N*Ho*Wo): fast, because matrix products are, at the price of
  copying each pixel into up to kH*kW columns.
- Conv2d: out = (in + 2p - k)//s + 1.
- NIN is a 1x1 convolution: a per-pixel fully connected layer.
- Winograd's F(2x2, 3x3) computes a 3x3 convolution with 2.25x fewer multiplications, by
  transforming input tiles and weights, multiplying element by element, transforming back.
- Width 0.5 at 16x16 has about a quarter of the paper's parameters, and each image has a
  quarter of the pixels: that is what makes the classroom setting trainable on a CPU.""")
section("Exercises")
print("""1. (15 min) Check conv2d_loops against reference.conv2d_forward with stride 2 and padding 0,
   and with a 5x5 kernel. Then make the loops twice as fast without changing the result.
2. (20 min) Write col2im for the 4x4 example of section 2 by hand, compare it with
   reference.col2im, and check that it is the adjoint of im2col:
   sum(cols * im2col(x)) == sum(col2im(cols) * x) for random x and cols.
3. (10 min) Which layer of the 32x32 discriminator has the most parameters? Which costs the
   most multiply-adds (parameters x output pixels)? Are they the same layer?
4. (10 min) Time reference vs numba for a batch of 64 at 32x32 with 96 channels. Where does
   the speed-up come from (hint: the shapes of the matrix product)?
5. (15 min) Check that winograd.conv2d_backward_weight is the adjoint of the forward in w:
   sum(grad_y * conv(x, w)) == sum(w * grad_w) for random x, w, grad_y.
Graded, with `python -m tinydagan.exercises new my_work` then `grade my_work`: the tasks
conv2d_forward, conv2d_backward and global_avg_pool2d (about 55 min).""")
