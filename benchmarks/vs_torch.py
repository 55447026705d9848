"""Time one DAGAN training iteration in tinydagan and in PyTorch, on this CPU.

    /tmp/tv/bin/python benchmarks/vs_torch.py               # 16x16 width 0.5 and 32x32 width 1.0
    python benchmarks/vs_torch.py --torch-python /tmp/tv/bin/python --size 16 --repeats 5
    /tmp/tv/bin/python benchmarks/vs_torch.py --check       # only check the mirror

    ratio = tinydagan ms per iteration / torch ms per iteration   (median of per-round ratios)

Below 1, tinydagan is faster; above 1, PyTorch is. PyTorch is not a dependency of
tinydagan: use an interpreter that has torch (a venv made with --system-site-packages
sees tinydagan too).

One iteration is what the trainer does in one step: the DAGAN method's ``train_step``
(tinydagan/training/methods.py) at batch 64, then the EMA update of D's weights. The
PyTorch side is that step as a PyTorch user writes it (two D passes, torch.optim.Adam), on
networks built by walking tinydagan's D and G layer by layer with their weights copied, so
the two cannot drift apart: an unknown layer is an error, and before timing the mirror is
checked in float64 against tinydagan (outputs, losses, weights after a step).

Each side runs in its own process, alternately (tinydagan, torch, tinydagan, ... for
``--repeats`` rounds); a process builds its models, runs ``--warmup`` iterations and
reports the median of ``--iters`` timed ones. Torch keeps its default thread count
(printed), and the torch process calls tinydagan.memory.keep_freed_memory(), the malloc
setting tinydagan gives itself, so both sides allocate alike.
"""
import argparse
import copy
import json
import os
import statistics
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from common import environment_report, median_time  # noqa: E402

from tinydagan import nn  # noqa: E402
from tinydagan.memory import keep_freed_memory  # noqa: E402
from tinydagan.models import sample_noise  # noqa: E402
from tinydagan.optim import EMA, Adam  # noqa: E402
from tinydagan.training import TrainConfig  # noqa: E402
from tinydagan.training.methods import get_method  # noqa: E402

K, BATCH = 10, 64
TOLERANCE = 1e-10  # float64: the mirror must agree with tinydagan to rounding
WIDTH = {16: 0.5, 32: 1.0}
ITERS = {16: 10, 32: 3}


def build(size, batch=BATCH, seed=0):
    """tinydagan's DAGAN networks for ``size`` as the trainer makes them, and a random batch."""
    cfg = TrainConfig(method="DAGAN", image_size=size, width=WIDTH[size])
    rng = np.random.default_rng(seed)
    D, G = get_method(cfg.method).build_models(cfg, K, rng)
    x = rng.uniform(-1, 1, (batch, 3, size, size)).astype(np.float32)  # (B, 3, S, S)
    return cfg, rng, D, G, x, rng.integers(0, K, batch)


# ----- the PyTorch mirror --------------------------------------------------------------------
def mirror(D, G):
    """torch containers holding layers equal to tinydagan's D and G (weights and batch-norm
    statistics copied, in their dtype); ``d_forward`` / ``g_forward`` apply them."""
    # torch is imported only where it is used: the parent and the tinydagan process never load it
    import torch
    from torch import nn as tnn

    def copied(src, dst):
        if getattr(src, "weight_norm", False):
            raise ValueError(f"mirror: weight normalisation is not mirrored ({src!r})")
        dst = dst.to(torch.from_numpy(src.weight.data).dtype)
        with torch.no_grad():
            for name, p in dst.named_parameters():
                p.copy_(torch.from_numpy(getattr(src, name).data))
            for name, b in dst.named_buffers():
                if hasattr(src, name):
                    b.copy_(torch.from_numpy(np.asarray(getattr(src, name))))
        return dst

    def layer(m):
        if isinstance(m, nn.Conv2d):  # NIN included: a 1x1 Conv2d
            return copied(m, tnn.Conv2d(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding))
        if isinstance(m, nn.LeakyReLU):
            return tnn.LeakyReLU(m.negative_slope)
        if isinstance(m, nn.Dropout):
            return tnn.Dropout(m.p)
        raise TypeError(f"mirror: no PyTorch counterpart for {m!r}; extend mirror()")

    if not (isinstance(D.noise, nn.GaussianNoise) and isinstance(D.pool, nn.GlobalAvgPool2d)):
        raise TypeError(f"mirror: expected GaussianNoise and GlobalAvgPool2d, got {D.noise!r}, {D.pool!r}")
    d = tnn.ModuleDict({"convs": tnn.Sequential(*map(layer, D.convs)),
                        "fc": copied(D.fc, tnn.Linear(D.fc.in_features, D.fc.out_features))})
    d.noise_std = D.noise.std

    if not G.num_classes:
        raise ValueError("mirror: DAGAN's generator is conditional (num_classes > 0)")
    bn1 = G.fc_bn
    g = tnn.ModuleDict({
        "fc": copied(G.fc, tnn.Linear(G.fc.in_features, G.fc.out_features)),
        "fc_bn": tnn.Identity() if bn1 is None else copied(
            bn1, tnn.BatchNorm1d(bn1.num_features, bn1.eps, bn1.momentum)),
        "ups": tnn.ModuleList(copied(u, tnn.ConvTranspose2d(
            u.in_channels, u.out_channels, u.kernel_size, u.stride, u.padding, u.output_padding))
            for u in G.ups),
        "bns": tnn.ModuleList(copied(b, tnn.BatchNorm2d(b.num_features, b.eps, b.momentum))
                              for b in G.bns)})
    g.num_classes, g.noise_dim, g.c0 = G.num_classes, G.noise_dim, G.widths[0]
    return d, g


def d_forward(d, x):
    """Mirror of Discriminator.forward: noise (training only), convs, global average pool, fc."""
    import torch
    if d.training and d.noise_std:
        x = x + d.noise_std * torch.randn_like(x)
    return d["fc"](d["convs"](x).mean(dim=(2, 3)))                     # (N, 2K)


def g_forward(g, z, y):
    """Mirror of Generator.forward: concat(z, one_hot(y)), fc, bn, relu, then per transposed
    conv the label maps concatenated in front of it; tanh after the last."""
    import torch
    onehot = torch.nn.functional.one_hot(y, g.num_classes).to(z.dtype)  # (N, K)
    h = torch.relu(g["fc_bn"](g["fc"](torch.cat([z, onehot], 1))))
    h = h.reshape(len(z), g.c0, 4, 4)                                    # (N, C0, 4, 4)
    for i, up in enumerate(g["ups"]):
        maps = onehot[:, :, None, None].expand(-1, -1, *h.shape[2:])    # (N, K, H, W)
        h = up(torch.cat([h, maps], 1))                                  # (N, C_{i+1}, 2H, 2W)
        if i == len(g["ups"]) - 1:
            return torch.tanh(h)                                         # (N, 3, S, S)
        h = torch.relu(g["bns"][i](h) if len(g["bns"]) else h)


def torch_step(cfg, d, g, opt_d, opt_g, x, y, y_fake=None, z=None):
    """tinydagan's DAGAN train_step in PyTorch (y_fake, z drawn by torch unless given)."""
    import torch
    n = torch.arange(len(y))
    y_fake = torch.randint(0, K, (len(y),)) if y_fake is None else y_fake
    z = torch.rand(len(y), g.noise_dim, dtype=x.dtype) if z is None else z   # U(0, 1)
    fake = g_forward(g, z, y_fake)

    opt_d.zero_grad()
    real, gen = torch.log_softmax(d_forward(d, x), 1), torch.log_softmax(d_forward(d, fake.detach()), 1)
    l_d = -real[n, y].mean() - gen[n, y_fake + K].mean()                 # eq. 3
    l_c = (-torch.logsumexp(torch.stack([real[n, y], real[n, y + K]], 1), 1).mean()
           - torch.logsumexp(torch.stack([gen[n, y_fake + K], gen[n, y_fake]], 1), 1).mean())  # eqs. 6-8
    (l_d + cfg.lc_weight * l_c).backward()
    opt_d.step()

    opt_g.zero_grad()
    d.requires_grad_(False)
    g_loss = -torch.log_softmax(d_forward(d, fake), 1)[n, y_fake].mean()      # eqs. 4-5
    g_loss.backward()
    d.requires_grad_(True)
    opt_g.step()
    return {"L_D": l_d.item(), "L_c": l_c.item(), "L_G": g_loss.item()}


class TorchEMA:
    """tinydagan.optim.EMA: after step t, avg <- d avg + (1 - d) p, d = min(decay, (1 + t) / (10 + t))."""

    def __init__(self, module, decay):
        self.params, self.decay, self.t = list(module.parameters()), decay, 0
        self.shadow = [p.detach().clone() for p in self.params]

    def update(self):
        import torch
        self.t += 1
        d = min(self.decay, (1 + self.t) / (10 + self.t))
        with torch.no_grad():
            for avg, p in zip(self.shadow, self.params):
                avg.mul_(d).add_(p, alpha=1 - d)


def check_mirror(size=16, batch=8):
    """Largest |tinydagan - torch| in float64: D's logits and G's images (eval mode, and G in
    training mode), then one whole step with D in eval mode (no noise or dropout): the
    losses, every weight after Adam and D's EMA. y_fake and z are drawn as train_step draws."""
    import torch
    cfg, rng, D, G, x, y = build(size, batch)
    D.to(np.float64), G.to(np.float64)
    x, z = x.astype(np.float64), np.random.default_rng(1).random((batch, G.noise_dim))
    d, g = mirror(D, G)
    xt, yt, zt = torch.from_numpy(x), torch.from_numpy(y), torch.from_numpy(z)
    D.eval(), d.eval()
    with torch.no_grad():
        diff = {"D logits (eval)": np.abs(D(x).data - d_forward(d, xt).numpy()).max()}
        for train in (False, True):
            G.train(train), g.train(train)
            ours, theirs = G(z, y).data, g_forward(g, zt, yt).numpy()
            diff[f"G images ({'train' if train else 'eval'})"] = np.abs(ours - theirs).max()
    draws = copy.deepcopy(rng)
    y_fake, z = draws.integers(0, K, batch), sample_noise(batch, G.noise_dim, draws, cfg.z_noise)
    betas = (cfg.beta1, 0.999)
    ema, t_ema = EMA(D, cfg.ema_decay), TorchEMA(d, cfg.ema_decay)
    ours = get_method(cfg.method).train_step(cfg, D, G, Adam(D.parameters(), cfg.lr, betas),
                                             Adam(G.parameters(), cfg.lr, betas), x, y, K, rng)
    theirs = torch_step(cfg, d, g, torch.optim.Adam(d.parameters(), cfg.lr, betas),
                        torch.optim.Adam(g.parameters(), cfg.lr, betas), xt, yt,
                        torch.from_numpy(y_fake), torch.from_numpy(z.astype(np.float64)))
    ema.update(), t_ema.update()
    diff["losses after a step"] = max(abs(ours[k] - theirs[k]) for k in ("L_D", "L_c", "L_G"))
    diff["weights after a step"] = max(np.abs(a.data - b.detach().numpy()).max() for m, t in ((D, d), (G, g))
                                       for a, b in zip(m.parameters(), t.parameters()))
    diff["D's EMA after a step"] = max(np.abs(a - b.numpy()).max()
                                       for a, b in zip(ema.shadow.values(), t_ema.shadow))
    return {k: float(v) for k, v in diff.items()}


# ----- timing ----------------------------------------------------------------------------------
def worker(side, size, iters, warmup):
    """Build one side's step, warm up, time ``iters`` iterations; print the median as JSON."""
    cfg, rng, D, G, x, y = build(size)
    info = {"side": side}
    if side == "tinydagan":
        method = get_method(cfg.method)
        opt_d, opt_g = (Adam(m.parameters(), cfg.lr, (cfg.beta1, 0.999)) for m in (D, G))
        ema = EMA(D, cfg.ema_decay)

        def step():
            method.train_step(cfg, D, G, opt_d, opt_g, x, y, K, rng)
            ema.update()
    else:
        import torch
        # tinydagan's malloc setting (tinydagan/memory.py), for torch's allocations too
        info["keep_freed_memory"] = keep_freed_memory()
        torch.manual_seed(0)
        d, g = mirror(D, G)
        opt_d, opt_g = (torch.optim.Adam(m.parameters(), cfg.lr, (cfg.beta1, 0.999)) for m in (d, g))
        ema, xt, yt = TorchEMA(d, cfg.ema_decay), torch.from_numpy(x), torch.from_numpy(y)
        info.update(threads=torch.get_num_threads(), torch=torch.__version__)

        def step():
            torch_step(cfg, d, g, opt_d, opt_g, xt, yt)
            ema.update()
    print(json.dumps({**info, "median_s": median_time(step, repeats=iters, warmup=warmup)}))


def run_worker(python, side, size, iters, warmup):
    cmd = [python, os.path.abspath(__file__), "--worker", side, "--size", str(size),
           "--iters", str(iters), "--warmup", str(warmup)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode:
        sys.exit(f"{' '.join(cmd)} failed:\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def has_torch(python):
    try:
        return subprocess.run([python, "-c", "import torch"], capture_output=True).returncode == 0
    except OSError:  # no such interpreter
        return False


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0], epilog=__doc__.split("\n\n", 1)[1],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, choices=(16, 32), action="append",
                        help="image size: 16 (width 0.5) or 32 (width 1.0); repeatable; default both")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of (tinydagan, torch) processes (default 3)")
    parser.add_argument("--iters", type=int, help="timed iterations per process (default 10 at 16, 3 at 32)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed iterations per process first (default 2)")
    parser.add_argument("--torch-python", default=sys.executable, help="interpreter with torch (default: this one)")
    parser.add_argument("--check", action="store_true", help="only compare the mirror with tinydagan (float64)")
    parser.add_argument("--worker", choices=("tinydagan", "torch", "check"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker == "check":
        print(json.dumps(check_mirror()))
        return
    if args.worker:
        return worker(args.worker, args.size[0], args.iters, args.warmup)
    if not has_torch(args.torch_python):
        print(f"torch is not installed for {args.torch_python}: run /tmp/tv/bin/python benchmarks/vs_torch.py, "
              f"or pass --torch-python PATH (an interpreter with torch)")
        return
    check = run_worker(args.torch_python, "check", 16, 0, 0)
    print("mirror check, largest |tinydagan - torch| in float64: "
          + ", ".join(f"{k} {v:.1e}" for k, v in check.items()))
    if max(check.values()) > TOLERANCE:
        sys.exit(f"the torch mirror differs from tinydagan by more than {TOLERANCE:g}: fix mirror() / torch_step()")
    if args.check:
        return
    for line in environment_report():
        print(line)
    rows = []
    for size in args.size or [16, 32]:
        iters = args.iters or ITERS[size]
        ours, theirs = [], []
        for _ in range(args.repeats):
            ours.append(run_worker(sys.executable, "tinydagan", size, iters, args.warmup)["median_s"])
            info = run_worker(args.torch_python, "torch", size, iters, args.warmup)
            theirs.append(info["median_s"])
        ratio = statistics.median(a / b for a, b in zip(ours, theirs))
        rows.append(f"| {size}x{size}, width {WIDTH[size]} | {1e3 * statistics.median(ours):.0f} "
                    f"({1e3 * min(ours):.0f}-{1e3 * max(ours):.0f}) | {1e3 * statistics.median(theirs):.0f} "
                    f"({1e3 * min(theirs):.0f}-{1e3 * max(theirs):.0f}) | {ratio:.2f} |")
    print(f"torch {info['torch']}, {info['threads']} threads; {args.repeats} rounds, batch {BATCH}, "
          f"load average {os.getloadavg()[0]:.2f}\n")
    print("| networks | tinydagan ms (median, min-max) | torch ms (median, min-max) | ratio tinydagan / torch |")
    print("|---|---:|---:|---:|")
    print("\n".join(rows))


if __name__ == "__main__":
    main()
