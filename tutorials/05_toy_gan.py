"""Tutorial 05: a GAN on a toy problem you can see: eight Gaussians on a circle.

Run:  python tutorials/05_toy_gan.py             (seconds to a minute; needs no dataset)
      python tutorials/05_toy_gan.py --fast      (a few seconds: 40 steps, to check it runs)
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter).

Images have thousands of dimensions; here the data has two, so every sample is a dot on
a picture and we can watch the generator learn. G and D are small MLPs built from the
library's own layers (nn.Linear, nn.ReLU), losses and Adam: the same machinery as the
image GAN of tutorial 06, minus the convolutions and the classes.

What you will see
1. The data: a mixture of 8 Gaussians on a circle (8 "modes").
2. G: noise z (2 numbers) -> a point; D: a point -> one logit (real or generated?).
3. The game: D's and G's losses, and their values at the equilibrium.
4. Training in a good setting, with pictures over time: out/05/good_steps.png.
5. Mode collapse: a setting in which G outruns D and piles every sample onto one or two
   spots that wander from step to step: out/05/collapse_steps.png. The losses of both
   runs: out/05/losses.png.
"""
# %% Setup
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from tinydagan import Tensor, losses, nn, no_grad, optim

FAST = os.environ.get("TINYDAGAN_TUTORIAL_FAST") == "1" or "--fast" in sys.argv[1:]
STEPS = 40 if FAST else 1200                     # per run; 1200 covers the 8 modes here
HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()   # a notebook has no __file__
OUT = HERE / "out" / "05"
OUT.mkdir(parents=True, exist_ok=True)
MODES, RADIUS, STD = 8, 2.0, 0.05
CENTRES = RADIUS * np.stack([np.cos(2 * np.pi * np.arange(MODES) / MODES),
                             np.sin(2 * np.pi * np.arange(MODES) / MODES)], axis=1)   # (8, 2)


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def real_batch(n, rng):
    """n points: a random centre each, plus N(0, STD^2) noise.  -> (n, 2) float32"""
    return (CENTRES[rng.integers(0, MODES, n)] + STD * rng.standard_normal((n, 2))).astype(np.float32)


def mlp(sizes, activation, rng):
    """Linear layers of the given sizes with ``activation()`` between them (none at the end)."""
    layers = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b, rng=rng))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)


def coverage(points):
    """(modes covered, fraction of good points): a point is good within 6 std of a centre;
    a mode is covered when it holds at least a quarter of its fair share of the points."""
    distance = np.linalg.norm(points[:, None, :] - CENTRES[None], axis=2)   # (n, 8)
    good = distance.min(axis=1) < 6 * STD
    per_mode = np.bincount(distance.argmin(axis=1)[good], minlength=MODES)
    return int((per_mode >= 0.25 * len(points) / MODES).sum()), float(good.mean())


# %% 1. The data
section("1. The data: 8 Gaussians on a circle")
rng = np.random.default_rng(0)
x = real_batch(1000, rng)
print(f"centres (8, 2), radius {RADIUS}, each with std {STD}:\n{CENTRES.round(2)}")
print(f"a batch of real points: {x.shape} {x.dtype}; coverage of 1000 real points: {coverage(x)}")
print("(modes covered, fraction of points near a mode): the data itself scores (8, ~1.0).")

# %% 2. Two small networks
section("2. Two small networks")
Z_DIM, HIDDEN, BATCH = 2, 64, 128


def make_networks(seed):
    rng = np.random.default_rng(seed)
    G = mlp([Z_DIM, HIDDEN, HIDDEN, 2], nn.ReLU, rng)            # z (N, 2) -> point (N, 2)
    D = mlp([2, HIDDEN, HIDDEN, 1], nn.LeakyReLU, rng)           # point (N, 2) -> logit (N, 1)
    return G, D


G, D = make_networks(0)
print("G =", G)
print("D =", D)
print(f"G has {G.num_parameters():,d} parameters, D {D.num_parameters():,d}")
with no_grad():
    start = G(Tensor(rng.standard_normal((1000, Z_DIM)).astype(np.float32))).data
print(f"an untrained G maps z ~ N(0, I) to points with mean {start.mean(0).round(2)}, "
      f"std {start.std(0).round(2)}; coverage {coverage(start)}")

# %% 3. The game
section("3. The game")
print("""D(x) is a logit: sigmoid(D(x)) is D's probability that x is real. With softplus(t) = log(1 + e^t):
  L_D = E_x softplus(-D(x)) + E_z softplus(D(G(z)))   = -E log sigmoid(D(x)) - E log(1 - sigmoid(D(G(z))))
  L_G = E_z softplus(-D(G(z)))                        = -E log sigmoid(D(G(z)))  (non-saturating)
Each step: one Adam step of D on L_D (a real batch and a generated one), then one of G on L_G.
At the equilibrium G's points are distributed like the data and D can only say 1/2 everywhere:""")
half = Tensor(np.zeros((BATCH, 1), np.float32))                  # logit 0 = probability 1/2
print(f"  L_D = 2 log 2 = {losses.gan_discriminator_loss(half, half).item():.3f},  "
      f"L_G = log 2 = {losses.gan_generator_loss(half).item():.3f}")


def train_gan(lr_d, lr_g, steps, seed, snapshots=6):
    """Train a fresh G and D; print a line 10 times; return the loss history and the
    generated points at ``snapshots`` steps (1000 points each, from one fixed z)."""
    G, D = make_networks(seed)
    rng = np.random.default_rng(seed + 1)
    opt_d = optim.Adam(D.parameters(), lr=lr_d, betas=(0.5, 0.999))
    opt_g = optim.Adam(G.parameters(), lr=lr_g, betas=(0.5, 0.999))
    z_show = Tensor(rng.standard_normal((1000, Z_DIM)).astype(np.float32))
    shown = set(np.linspace(0, steps, snapshots).astype(int))
    history, pictures, t0 = [], {}, time.perf_counter()
    for step in range(steps + 1):
        if step in shown:
            with no_grad():
                pictures[step] = G(z_show).data
        if step == steps:
            break
        # D: real points should get large logits, generated ones small
        with no_grad():                                          # G is not trained in this step
            fake = G(Tensor(rng.standard_normal((BATCH, Z_DIM)).astype(np.float32))).data
        opt_d.zero_grad()
        loss_d = losses.gan_discriminator_loss(D(Tensor(real_batch(BATCH, rng))), D(Tensor(fake)))
        loss_d.backward()
        opt_d.step()
        # G: its points should get large logits from D (D's weights get gradients too, but
        # only opt_g steps here, and opt_d.zero_grad() clears them before D's next step)
        opt_g.zero_grad()
        loss_g = losses.gan_generator_loss(D(G(Tensor(rng.standard_normal((BATCH, Z_DIM)).astype(np.float32)))))
        loss_g.backward()
        opt_g.step()
        history.append((step + 1, loss_d.item(), loss_g.item()))
        if (step + 1) % max(1, steps // 10) == 0:
            with no_grad():
                modes, good = coverage(G(z_show).data)
            print(f"  step {step + 1:5d} | L_D {loss_d.item():.3f} L_G {loss_g.item():.3f} | "
                  f"modes covered {modes}/8, points near a mode {good:4.0%} | "
                  f"{time.perf_counter() - t0:4.0f}s", flush=True)
    return history, pictures


def to_pixel(points, size):
    """Plane [-3, 3]^2 -> pixel coordinates of a size x size panel (y up)."""
    return (points[:, 0] + 3) / 6 * size, (3 - points[:, 1]) / 6 * size


def save_scatter_strip(pictures, real, path, size=200):
    """One panel per snapshot: real points grey, G's points blue, the centres as rings."""
    strip = Image.new("RGB", (size * len(pictures), size + 24), "white")
    draw = ImageDraw.Draw(strip)
    for i, (step, points) in enumerate(sorted(pictures.items())):
        x0 = i * size
        draw.rectangle([x0, 24, x0 + size - 1, 24 + size - 1], outline=(180, 180, 180))
        for pts, colour in ((real, (200, 200, 200)), (points, (40, 90, 220))):
            px, py = to_pixel(pts, size)
            for u, v in zip(px, py):
                if 0 <= u < size and 0 <= v < size:
                    draw.rectangle([x0 + u, 24 + v, x0 + u + 1, 24 + v + 1], fill=colour)
        cx, cy = to_pixel(CENTRES, size)
        for u, v in zip(cx, cy):
            draw.ellipse([x0 + u - 4, 24 + v - 4, x0 + u + 4, 24 + v + 4], outline=(220, 60, 50))
        modes, _ = coverage(points)
        draw.text((x0 + 6, 6), f"step {step}: {modes}/8 modes", fill="black")
    strip.save(path)


def save_loss_plot(runs, path, width=640, height=300):
    """L_D (solid) and L_G (dotted) of each run against the step, the equilibria dashed."""
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    left, right, top, bottom, lo, hi = 40, width - 10, 20, height - 30, 0.0, 2.5
    steps = max(h[-1][0] for _, h, _ in runs)

    def xy(step, value):
        value = min(max(value, lo), hi)
        return left + step / steps * (right - left), bottom - (value - lo) / (hi - lo) * (bottom - top)

    for value, label in ((np.log(4), "2 log 2"), (np.log(2), "log 2")):
        y = xy(0, value)[1]
        for x0 in range(left, right, 12):
            draw.line([(x0, y), (x0 + 6, y)], fill=(150, 150, 150))
        draw.text((right - 60, y - 12), label, fill=(120, 120, 120))
    for tick in (0.0, 0.5, 1.0, 1.5, 2.0, 2.5):
        draw.text((5, xy(0, tick)[1] - 6), f"{tick:.1f}", fill="black")
    draw.line([(left, bottom), (right, bottom)], fill="black")
    draw.text((left, bottom + 8), f"step 0 ... {steps}", fill="black")
    for i, (name, history, colour) in enumerate(runs):
        window = max(1, len(history) // 60)                      # a running mean: less jitter
        for column, dash in ((1, False), (2, True)):
            values = np.convolve([h[column] for h in history], np.ones(window) / window, mode="valid")
            points = [xy(s, v) for s, v in zip(range(window, len(history) + 1), values)]
            for j, (a, b) in enumerate(zip(points[:-1], points[1:])):
                if not dash or (j // 4) % 2 == 0:
                    draw.line([a, b], fill=colour, width=2)
        draw.text((left + 10 + 230 * i, top - 16), f"{name}: L_D solid, L_G dotted", fill=colour)
    img.save(path)


# %% 4. Training in a good setting
section("4. Training in a good setting")
print(f"lr 2e-3 for both, Adam betas (0.5, 0.999), batch {BATCH}, {STEPS} steps" + ("  [fast mode]" if FAST else ""))
good_history, good_pictures = train_gan(lr_d=2e-3, lr_g=2e-3, steps=STEPS, seed=0)
real_points = real_batch(1000, np.random.default_rng(5))
save_scatter_strip(good_pictures, real_points, OUT / "good_steps.png")
print(f"G's points over training (grey: real, blue: G, red rings: the 8 centres): {OUT / 'good_steps.png'}")
print("G starts as a small blob near the origin, first chases a single mode, then spreads over the")
print("whole square, and finally gathers its points onto the circle and into the centres.")

# %% 5. Mode collapse
section("5. Mode collapse: G outruns D")
print(f"lr of D 2e-4, of G 5e-3 (25 times faster), otherwise the same, {STEPS} steps")
bad_history, bad_pictures = train_gan(lr_d=2e-4, lr_g=5e-3, steps=STEPS, seed=0)
save_scatter_strip(bad_pictures, real_points, OUT / "collapse_steps.png")
print(f"G's points over training: {OUT / 'collapse_steps.png'}")
print("""A slow D changes its mind slowly, so at each moment it prefers a few spots. A fast G
moves ALL its points to the spot D likes best right now: the loss L_G is an average over
points, and nothing in it rewards variety. When D catches up, the whole blob jumps to the
next favourite spot. That is mode collapse: few modes, often none, and hopping.""")
save_loss_plot([("good", good_history, (40, 90, 220)), ("collapse", bad_history, (220, 60, 50))],
               OUT / "losses.png")
print(f"losses of both runs: {OUT / 'losses.png'}")

# %% 6. What the numbers say
section("6. What the numbers say")
for name, history, pictures in (("good", good_history, good_pictures), ("collapse", bad_history, bad_pictures)):
    last = np.array(history[-max(1, len(history) // 10):])[:, 1:].mean(axis=0)
    final = pictures[max(pictures)]
    modes, good = coverage(final)
    print(f"  {name:8s}: last tenth of the steps L_D {last[0]:.3f}, L_G {last[1]:.3f}; final modes "
          f"{modes}/8, points near a mode {good:4.0%}, spread of G's points (std) {final.std(0).mean():.2f} "
          f"(data {real_points.std(0).mean():.2f})")
print("The losses alone do not tell you a GAN works: in both runs they sit near the equilibrium")
print("values. Look at the samples, and measure their variety (tutorial 06's diversity ratio does")
print("that for images).")

# %% Summary
section("Summary")
print("""- A GAN is two networks trained in turn: D to tell real from generated, G to make D say
  "real". At the equilibrium D says 1/2 everywhere: L_D = 2 log 2, L_G = log 2.
- On 2-D data you can watch it: a good setting spreads G's points over all 8 modes.
- Mode collapse: G puts its points where D is currently fooled; with a D that learns too
  slowly they pile up on one or two spots that hop around. The losses hardly show it;
  the samples do.
- Everything here is the library's: nn.Linear, ReLU, Adam, gan_discriminator_loss and
  gan_generator_loss, and backward() through both networks.""")
section("Exercises")
print("""1. (10 min) Give D five updates per G update in the collapse setting (loop over D's step).
   Does it recover? What does that tell you about the cause?
2. (10 min) Replace L_G by the saturating loss the minimax game asks for, L_G = -L_D's fake
   term = -E softplus(D(G(z))), in the good setting. Compare the first 200 steps: what
   happens to G's gradient while D confidently rejects G's points?
3. (10 min) Put the 8 centres at radius 4 (points reach outside the pictures' [-3, 3] box,
   widen it). Does the good setting still cover them in 1200 steps? Why would it be harder?
4. (10 min) In the good run, L_D stays near 1.386 from early on. Does that mean D learned
   nothing? What would L_D near 0 mean for G?
Graded, with `python -m tinydagan.exercises new my_work` then `grade my_work`: the task
adam (about 15 min), the optimiser both networks use here.""")
