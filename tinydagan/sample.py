"""A trained generator on disk (``generator.npz``), and drawing labelled images from it.

A run of a method with a conditional generator (DAGAN, DAGAN_aug) saves its generator when
it finishes, beside ``model.npz`` (the classifier). ``tinydagan sample`` rebuilds it from
that file alone and draws images of every class, without training again:

    saved = load_generator("runs/augment")                # the folder holding generator.npz
    images, labels = draw(saved, per_class=100, seed=1)   # (K*100, S, S, 3) uint8, (K*100,)
    write_images("more", images, labels, saved.classes, seed=1)   # more/<class>/s1_00000.png ...

The file is a plain ``.npz`` (no pickle, ``serialization.save_npz``) with these entries:

    format      GENERATOR_FORMAT, the version of this layout
    settings    JSON: what rebuilds the network (num_classes, image_size, width, noise_dim,
                batch_norm), how z is drawn (z_noise), the class names, and where the
                weights come from (method, steps, dataset, seed, data_seed, per_class)
    G/<name>    every parameter and buffer of ``Generator.state_dict()`` (the batch-norm
                running statistics included: images are drawn in evaluation mode)

The weights are G's at the run's last step (the classifier in ``model.npz`` is D's at the
best validation step; G has no validation accuracy to choose a step by).

Class k is drawn from its own stream, ``np.random.default_rng([seed, k])``: the images of a
class do not depend on how many of the other classes are drawn.
"""
import json
import math
import os
import re

import numpy as np
from PIL import Image

from . import data as tdata
from .models import Generator, sample_noise
from .serialization import atomic_write, load_npz, save_npz
from .tensor import no_grad

__all__ = ["GENERATOR_FILE", "GENERATOR_FORMAT", "SavedGenerator", "save_generator",
           "load_generator", "draw", "write_images", "image_name", "save_sample_grid"]

GENERATOR_FILE = "generator.npz"
GENERATOR_FORMAT = 1
# Bounds a file must respect before a network is built from it (a damaged or foreign file
# must not ask for gigabytes): the library's own generators have noise_dim 100.
_MAX_CLASSES, _MAX_NOISE_DIM = 10_000, 10_000
_NETWORK_KEYS = {"num_classes": int, "image_size": int, "width": float, "noise_dim": int,
                 "batch_norm": bool, "z_noise": str, "classes": list}


class SavedGenerator:
    """A generator rebuilt from its file: ``G`` (in evaluation mode), ``classes`` (names of
    its labels 0..K-1), ``z_noise`` (how its z is drawn), ``settings`` (the file's JSON)."""

    def __init__(self, G, settings, path):
        self.G, self.settings, self.path = G, settings, path
        self.classes = tuple(settings["classes"])
        self.z_noise = settings["z_noise"]

    @property
    def image_size(self):
        return self.G.image_size


def save_generator(path, G, cfg, classes):
    """Write a conditional ``G`` trained with TrainConfig ``cfg`` on ``classes`` to ``path``
    (atomically); returns ``path``."""
    settings = {"num_classes": G.num_classes, "image_size": G.image_size, "width": cfg.width,
                "noise_dim": G.noise_dim, "batch_norm": G.fc_bn is not None,
                "z_noise": cfg.z_noise, "classes": list(classes),
                "trained": {"method": cfg.method, "steps": cfg.steps, "dataset": cfg.dataset,
                            "seed": cfg.seed, "data_seed": cfg.data_seed,
                            "per_class": cfg.per_class}}
    arrays = {"format": np.array(GENERATOR_FORMAT), "settings": np.array(json.dumps(settings))}
    arrays.update({f"G/{name}": value for name, value in G.state_dict().items()})
    save_npz(path, arrays)
    return path


_EXPECTED = (f"expected the {GENERATOR_FILE} that 'tinydagan augment' (or 'tinydagan train' "
             f"with a conditional generator, such as DAGAN) writes")


def _bad(path, problem):
    return ValueError(f"{path} {problem}; {_EXPECTED}")


def _settings(arrays, path):
    """The checked JSON settings of a generator file."""
    if "format" not in arrays or "settings" not in arrays:
        raise _bad(path, "is not a generator file (it has no 'format' and 'settings' entries)")
    fmt = arrays["format"]
    if fmt.shape != () or fmt.dtype.kind not in "iu":
        raise _bad(path, f"has a 'format' entry that is not an integer (got {fmt.dtype})")
    if int(fmt) != GENERATOR_FORMAT:
        raise _bad(path, f"was written in generator format {int(fmt)}; this version of tinydagan "
                         f"reads format {GENERATOR_FORMAT}")
    text = arrays["settings"]
    try:
        if text.shape != () or text.dtype.kind != "U":
            raise ValueError(f"a {text.dtype} array, not text")
        settings = json.loads(text.item())
    except ValueError as e:
        raise _bad(path, f"has a 'settings' entry that is not JSON text ({e})") from None
    if not isinstance(settings, dict):
        raise _bad(path, "has 'settings' that are not a JSON object")
    for key, kind in _NETWORK_KEYS.items():
        value = settings.get(key)
        if kind is float:   # an int is a number too, a bool is not
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        else:
            ok = isinstance(value, kind) and (kind is bool or not isinstance(value, bool))
        if not ok:
            raise _bad(path, f"has settings without a valid '{key}' (a {kind.__name__} expected, "
                             f"got {value!r})")
    from .training.config import MAX_WIDTH  # here: the trainer imports this module
    ranges = {"num_classes": (1 <= settings["num_classes"] <= _MAX_CLASSES,
                              f"in [1, {_MAX_CLASSES}] (0 is an unconditional generator: it cannot "
                              f"draw a chosen class)"),
              "image_size": (settings["image_size"] in (16, 32), "16 or 32"),
              "width": (math.isfinite(settings["width"]) and 0 < settings["width"] <= MAX_WIDTH,
                        f"in (0, {MAX_WIDTH}]"),
              "noise_dim": (1 <= settings["noise_dim"] <= _MAX_NOISE_DIM,
                            f"in [1, {_MAX_NOISE_DIM}]")}
    for key, (ok, allowed) in ranges.items():
        if not ok:
            raise _bad(path, f"has '{key}' = {settings[key]!r} in its settings (expected "
                             f"{allowed})")
    if len(settings["classes"]) != settings["num_classes"]:
        raise _bad(path, f"names {len(settings['classes'])} classes for a generator of "
                         f"{settings['num_classes']}")
    for name in settings["classes"]:   # each becomes a folder name: nothing outside --out
        if not (isinstance(name, str) and name and not name.startswith(".")
                and "/" not in name and "\\" not in name):
            raise _bad(path, f"has the class name {name!r}, which is no folder name (expected "
                             f"a name without '/' that does not start with '.')")
    return settings


def load_generator(path):
    """The SavedGenerator in ``path`` (a generator file, or a folder holding one). One
    ValueError naming the file for anything else: missing, not an .npz, another kind of
    .npz (a checkpoint, model.npz), another format, settings or weights that do not fit."""
    path = os.fspath(path)
    if os.path.isdir(path):
        path = os.path.join(path, GENERATOR_FILE)
    if not os.path.exists(path):
        raise _bad(path, "does not exist")
    try:
        arrays = load_npz(path)
    except ValueError as e:  # its message names the file: not a readable .npz
        raise ValueError(f"{e}; {_EXPECTED}") from None
    settings = _settings(arrays, path)
    try:
        G = Generator(settings["num_classes"], settings["image_size"], settings["width"],
                      settings["noise_dim"], settings["batch_norm"], rng=np.random.default_rng(0))
        sample_noise(1, 1, np.random.default_rng(0), settings["z_noise"])  # a known kind of z
        weights = {name[2:]: value for name, value in arrays.items() if name.startswith("G/")}
        for name, value in weights.items():
            if value.dtype.kind != "f" or not np.all(np.isfinite(value)):
                raise ValueError(f"'{name}' is not an array of finite numbers")
        G.load_state_dict(weights)
    except (KeyError, ValueError) as e:
        detail = e.args[0] if isinstance(e, KeyError) else e   # str(KeyError) adds quotes
        raise _bad(path, f"does not hold the weights its settings describe ({detail})") from None
    G.eval()  # batch norm with its running statistics: no batch changes another
    return SavedGenerator(G, settings, path)


def draw(saved, per_class, seed, batch_size=250):
    """``per_class`` images of every class: (K * per_class, S, S, 3) uint8 and labels
    (K * per_class,) int64, class 0's first. Class k's z come from
    ``np.random.default_rng([seed, k])``."""
    if not isinstance(per_class, int) or isinstance(per_class, bool) or per_class < 1:
        raise ValueError(f"--per-class must be an integer >= 1, got {per_class!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"--seed must be an integer >= 0, got {seed!r}")
    G = saved.G
    images = []
    for k in range(G.num_classes):
        z = sample_noise(per_class, G.noise_dim, np.random.default_rng([seed, k]), saved.z_noise)
        for start in range(0, per_class, batch_size):           # bounded memory for a large n
            chunk = z[start:start + batch_size]
            with no_grad():
                x = G(chunk, np.full(len(chunk), k)).data       # (n, 3, S, S) in [-1, 1]
            images.append(tdata.to_uint8_nhwc(x))               # (n, S, S, 3)
    labels = np.repeat(np.arange(G.num_classes, dtype=np.int64), per_class)
    return np.concatenate(images), labels


def image_name(seed, index):
    """The file name of the ``index``-th image of a class drawn with ``seed``."""
    return f"s{seed}_{index:05d}.png"


_NAME = re.compile(r"^s(\d+)_(\d{5,})\.png$")


def write_images(folder, images, labels, classes, seed):
    """``folder/<class>/s<seed>_<index>.png`` for every image (atomically); files of the same
    seed beyond this count (left by an earlier, larger draw) are removed, files of other
    seeds are kept. Returns {class name: number of images}."""
    written = {}
    for k, name in enumerate(classes):
        target = os.path.join(folder, name)
        os.makedirs(target, exist_ok=True)
        members = images[labels == k]
        for i, pixels in enumerate(members):
            picture = Image.fromarray(pixels)
            atomic_write(os.path.join(target, image_name(seed, i)),
                         lambda f, p=picture: p.save(f, format="PNG"))
        for entry in os.listdir(target):
            match = _NAME.match(entry)
            if match and int(match.group(1)) == seed and int(match.group(2)) >= len(members):
                os.remove(os.path.join(target, entry))
        written[name] = len(members)
    return written


def save_sample_grid(path, images, labels, classes, per_row=10):
    """A PNG of the first ``per_row`` images of every class, one row per class."""
    keep = np.concatenate([np.flatnonzero(labels == k)[:per_row] for k in range(len(classes))])
    tdata.save_grid(path, images[keep], labels[keep], classes)
    return path
