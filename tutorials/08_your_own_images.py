"""Tutorial 08: C vs DAGAN on your own images (an image folder).

Run:  python tutorials/08_your_own_images.py                      (synthetic shapes, about a minute)
      python tutorials/08_your_own_images.py --folder my_images    (your own data)
      python tutorials/08_your_own_images.py --fast                (3 steps: does it run?)
      python tutorials/08_your_own_images.py --help
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter),
      which uses the defaults (edit them in the first cell, or set TINYDAGAN_TUTORIAL_FAST=1).

An image folder is laid out as ``root/<class_name>/<image>.png|jpg|jpeg``: one sub-folder per
class, names sorted give the labels 0, 1, 2, ... Images are centre-cropped to a square and
resized (tinydagan/data/image_folder.py).

Without --folder, the script first writes a tiny synthetic folder of coloured shapes
(circles, squares, triangles in random colours, sizes and places; tutorials/shapes.py) into
tutorials/out/08/, so it runs anywhere with no download.

What you will see
1. The folder: classes, image counts, and how a test set is held out of it.
2. C and DAGAN trained briefly through ``TrainConfig(dataset="folder", data_root=...)``.
3. Their test accuracies and the generator's samples, one row per class.
"""
# %% Setup: the settings (a notebook uses the defaults; edit them here)
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from shapes import SHAPES, write_shapes_folder       # tutorials/shapes.py, beside this file
from tinydagan import data as tdata
from tinydagan.training import TrainConfig, Trainer, load_splits

HERE = Path(__file__).resolve().parent if "__file__" in globals() else Path.cwd()   # a notebook has no __file__
NOTEBOOK = "ipykernel" in sys.modules                 # a notebook's argv is the kernel's, not ours
ARGV = [] if NOTEBOOK else sys.argv[1:]
FAST = os.environ.get("TINYDAGAN_TUTORIAL_FAST") == "1" or "--fast" in ARGV


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Train C and DAGAN briefly on an image folder root/<class>/*.png "
                    "(default: a synthetic folder of coloured shapes) - tutorial 08.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    p.add_argument("--fast", action="store_true",
                   help="tiny settings to check that everything runs: 3 steps, width 0.125, 20 "
                        "images per class (also TINYDAGAN_TUTORIAL_FAST=1); flags given still win")
    p.add_argument("--folder", default=None,
                   help="your image folder (root/<class>/*.png|jpg); default: write and use a "
                        "synthetic one in <out>/shapes")
    p.add_argument("--images-per-class", type=int, default=20 if FAST else 40,
                   help="images per class of the synthetic folder")
    p.add_argument("--steps", type=int, default=3 if FAST else 400, help="training steps of EACH method")
    p.add_argument("--per-class", type=int, default=None,
                   help="labelled training images per class (default: all that are left after "
                        "holding out the test and validation images)")
    p.add_argument("--val-per-class", type=int, default=4,
                   help="images per class held out to pick the best step")
    p.add_argument("--width", type=float, default=0.125 if FAST else 0.25,
                   help="channel multiplier (1.0 = the paper)")
    p.add_argument("--image-size", type=int, default=16, choices=(16, 32), help="image side")
    p.add_argument("--batch-size", type=int, default=32, help="images per step")
    p.add_argument("--seed", type=int, default=0, help="seed of weights, noise and batch order")
    p.add_argument("--out", default=str(HERE / "out" / "08"), help="output folder")
    args = p.parse_args(argv)
    if min(args.steps, args.images_per_class, args.val_per_class + 1) < 1:
        p.error("--steps and --images-per-class must be >= 1, --val-per-class >= 0")
    return args


args = parse_args(ARGV)
os.makedirs(args.out, exist_ok=True)
t0 = time.perf_counter()


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def train_method(method, base, splits):
    cfg = base.replace(method=method, out_dir=os.path.join(base.out_dir, method))
    start = time.perf_counter()
    result = Trainer(cfg, splits, sys.stdout, fresh=True).run()   # fresh: never resume here
    result["seconds"] = time.perf_counter() - start
    return result


# %% 1. The image folder
section("1. The image folder")
folder = args.folder
if folder is None:
    folder = os.path.join(args.out, "shapes")
    write_shapes_folder(folder, args.images_per_class, np.random.default_rng(args.seed))
    print(f"wrote a synthetic folder: {folder}/{{{','.join(SHAPES)}}}/000.png ... "
          f"({args.images_per_class} per class)")

base = TrainConfig(dataset="folder", data_root=folder, image_size=args.image_size,
                   width=args.width, val_per_class=args.val_per_class, steps=args.steps,
                   batch_size=args.batch_size, seed=args.seed,
                   eval_every=max(1, args.steps // 4), log_every=max(1, args.steps // 6),
                   checkpoint_every=args.steps, sample_every=args.steps, out_dir=args.out)
try:
    splits = load_splits(base)       # what the Trainer would load itself; loaded once here
except (tdata.DatasetError, ValueError) as err:
    print(f"08_your_own_images.py: {err}", file=sys.stderr)
    sys.exit(1)
train, test = splits["train"], splits["test"]
counts = np.bincount(train.labels, minlength=train.num_classes)
print(f"classes: {train.classes}")
print(f"images resized to {train.images.shape[1:]} (H, W, C); "
      f"train {counts.tolist()} per class, test {len(test.labels)} images "
      f"(a fifth of the smallest class, per class, held out by load_splits)")
per_class = args.per_class or int(counts.min()) - args.val_per_class
if per_class < 1 or per_class + args.val_per_class > counts.min():
    print(f"08_your_own_images.py: need per-class + val-per-class <= {counts.min()} (the smallest "
          f"class after the test hold-out), got {per_class} + {args.val_per_class}; add images "
          f"or lower --per-class / --val-per-class", file=sys.stderr)
    sys.exit(1)
base = base.replace(per_class=per_class)
print(f"labelled: {per_class} per class, validation: {args.val_per_class} per class")
real_png = os.path.join(args.out, "real_images.png")
idx = tdata.class_balanced_indices(train.labels, min(10, int(counts.min())), np.random.default_rng(0))
tdata.save_grid(real_png, train.images[idx], train.labels[idx], train.classes)
print(f"a grid of real training images: {real_png}")
if FAST:
    print("[fast mode: tiny settings; the numbers below mean nothing]")

# %% 2. Training
section("2. Training")
results = [train_method(m, base, splits) for m in ("C", "DAGAN")]

# %% 3. Results
section("3. Results")
print(f"{'method':8s} {'test acc':>9s} {'time':>7s}   (chance {100 / train.num_classes:.0f}%, "
      f"{len(test.labels)} test images)")
for r in results:
    print(f"{r['method']:8s} {r['test_accuracy']:8.1f}% {r['seconds']:6.0f}s")
print("confusion matrix of DAGAN's classifier (rows: true class, columns: predicted):")
for name, row in zip(train.classes, results[1]["confusion"]):
    print(f"  {name:>12s} {row}")
print(f"generator samples, one row per class: {results[1]['samples']}")
print(f"total time {time.perf_counter() - t0:.0f} s")

# %% Summary
section("Summary")
print(f"""- Any folder of root/<class>/*.png becomes a dataset: TrainConfig(dataset="folder",
  data_root=...) and the same Trainer as for CIFAR-10; a test set is held out of the folder.
- With {len(test.labels)} test images every image is {100 / len(test.labels):.1f} points of accuracy: small folders
  give noisy numbers, and a run of {args.steps} steps says little about which method is better.
- The sample grid shows what the generator learned about each class so far. A few hundred
  steps are far from enough to draw shapes: in our 400-step run each row was a bright,
  noisy blob on a dark background, a little different from class to class, nearly the same
  in every column. Compare its rows with real_images.png.""")
section("Exercises")
print("""1. (10 min) Run with --steps 1000. Do the generated rows start to look like their shape?
2. (20 min) Make the task harder: give every class the SAME colour range, or add a fourth
   class (e.g. a cross) to tutorials/shapes.py. Which method suffers more with --per-class 5?
3. (15 min) Point --folder at a few of your own photos (two classes, 20 each). What does the
   centre crop to a square do to them (look at real_images.png)?
No graded task goes with this lesson: the kit's tasks are the pieces of tutorials 01-06.""")
