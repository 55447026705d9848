"""Tutorial 04: the DAGAN losses on made-up logits, term by term.

Run:  python tutorials/04_dagan_losses.py        (a second; needs no dataset)
      The ``# %%`` lines split it into cells: it also opens as a notebook (VS Code, Jupyter).

DAGAN's discriminator D has 2K outputs: index y (0..K-1) means "a REAL image of class y",
index y+K means "a GENERATED image of class y". With p = softmax(logits):

    L_D    = - E_data log p(y | x)  -  E_gen log p(y+K | G(z,y))                 (eq. 3)
    L_c    = L_data + L_gen                                                      (eqs. 6-8)
    L_data = - E_data log[ p(y | x) + p(y+K | x) ]
    L_gen  = - E_gen  log[ p(y+K | G(z,y)) + p(y | G(z,y)) ]
    L_G    = - E_gen  log p(y | G(z,y))                                          (eqs. 4-5)
    test time: class i scores p(i) + p(i+K)

We compute each one by hand with numpy and compare with tinydagan.losses, then move the
logits and watch the losses (and their gradients) respond.
"""
# %% Setup
import numpy as np

from tinydagan import Tensor, losses

np.set_printoptions(precision=3, suppress=True)
K = 3                      # three classes keep the tables readable: 2K = 6 outputs
NAMES = [f"real{c}" for c in range(K)] + [f"fake{c}" for c in range(K)]


def section(title):
    print(f"\n=== {title} " + "=" * max(0, 70 - len(title)))


def softmax(z):
    z = z - z.max(axis=1, keepdims=True)      # subtracting the max changes nothing but avoids overflow
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def show_probs(title, logits):
    print(title)
    print("           " + " ".join(f"{n:>7s}" for n in NAMES))
    for n, row in enumerate(softmax(logits)):
        print(f"  image {n}: " + " ".join(f"{v:7.3f}" for v in row))


# %% 1. The 2K outputs
section("1. The 2K outputs")
# Two real images (classes 0 and 2) and two generated images (classes 1 and 2).
logits_real = np.array([[2.0, 0.1, -1.0, 0.5, -0.5, -1.0],     # a confident "real 0"
                        [0.0, 0.3, 0.8, -0.2, 0.0, 0.6]])      # unsure between real2 and fake2
y_real = np.array([0, 2])
logits_fake = np.array([[0.2, 1.0, -0.3, -0.1, 1.5, 0.0],      # D says "fake 1": right
                        [-0.5, 0.0, 1.8, 0.0, -0.2, 0.4]])     # D says "real 2": fooled
y_fake = np.array([1, 2])
print(f"K = {K} classes, logits (N, 2K) = {logits_real.shape}; real labels {y_real}, "
      f"generated labels {y_fake}")
show_probs("p = softmax(logits), real images:", logits_real)
show_probs("p = softmax(logits), generated images:", logits_fake)

# %% 2. L_D (eq. 3): real -> y, generated -> y+K
section("2. L_D (eq. 3): real -> y, generated -> y+K")
p_real, p_fake = softmax(logits_real), softmax(logits_fake)
n = np.arange(2)
real_term = -np.mean(np.log(p_real[n, y_real]))
fake_term = -np.mean(np.log(p_fake[n, y_fake + K]))
print(f"  -mean log p(y | x)        = -mean log {p_real[n, y_real]} = {real_term:.4f}")
print(f"  -mean log p(y+K | G(z,y)) = -mean log {p_fake[n, y_fake + K]} = {fake_term:.4f}")
L_D = losses.dagan_discriminator_loss(Tensor(logits_real), y_real, Tensor(logits_fake), y_fake, K)
print(f"  L_D by hand {real_term + fake_term:.4f} | tinydagan.losses {L_D.item():.4f}")
assert np.isclose(L_D.item(), real_term + fake_term)

# %% 3. L_c (eqs. 6-8): the class must be right, real or fake
section("3. L_c (eqs. 6-8): the class must be right, real or fake")
merged_real = p_real[n, y_real] + p_real[n, y_real + K]
merged_fake = p_fake[n, y_fake + K] + p_fake[n, y_fake]
l_data, l_gen = -np.mean(np.log(merged_real)), -np.mean(np.log(merged_fake))
print(f"  L_data = -mean log[p(y) + p(y+K)] on real      = -mean log {merged_real} = {l_data:.4f}")
print(f"  L_gen  = -mean log[p(y+K) + p(y)] on generated = -mean log {merged_fake} = {l_gen:.4f}")
L_c = losses.class_consistency_loss(Tensor(logits_real), y_real, Tensor(logits_fake), y_fake, K)
print(f"  L_c by hand {l_data + l_gen:.4f} | tinydagan.losses {L_c.item():.4f}")
assert np.isclose(L_c.item(), l_data + l_gen)
print(f"  Real image 1 is split between real2 and fake2: in L_D it costs -log p(real2) = "
      f"{-np.log(p_real[1, 2]):.3f},")
print(f"  in L_data only -log[p(real2) + p(fake2)] = {-np.log(merged_real[1]):.3f}: "
      f"L_c asks for the CLASS, not for real vs generated.")

# %% 4. L_G (eqs. 4-5): G wants its class-y image taken for a REAL y
section("4. L_G (eqs. 4-5): G wants its class-y image taken for a REAL y")
g_term = -np.mean(np.log(p_fake[n, y_fake]))
L_G = losses.dagan_generator_loss(Tensor(logits_fake), y_fake, K)
print(f"  L_G = -mean log p(y | G(z,y)) = -mean log {p_fake[n, y_fake]} = {g_term:.4f} "
      f"| tinydagan.losses {L_G.item():.4f}")
assert np.isclose(L_G.item(), g_term)
print("  Generated image 1 already fools D (p(real2) = 0.552), so it costs G less than image 0.")

# %% 5. Classifying with 2K outputs: p(i) + p(i+K)
section("5. Classifying with 2K outputs: p(i) + p(i+K)")
scores = losses.dagan_class_probabilities(logits_real, K)             # (N, K)
print("  merged class probabilities of the real images (rows sum to 1):")
for i, row in enumerate(scores):
    print(f"    image {i}: {row}  -> predicted class {row.argmax()} (true {y_real[i]})")
print("  A 'fake 2' vote is still a vote for class 2: the classifier uses all 2K outputs.")

# %% 6. Moving the logits
section("6. Moving the logits")
# One generated image of class 1. Move mass between its "real1" and "fake1" logits and see
# who wins: D (L_D's fake term) wants fake1 high, G (L_G) wants real1 high, and L_c is happy
# as long as EITHER is high.
print("  generated image of class 1; logits = [0, t, 0, 0, -t, 0]  (t moves it from fake1 to real1)")
print(f"  {'t':>5s} {'p(real1)':>9s} {'p(fake1)':>9s} {'L_D fake':>9s} {'L_gen':>8s} {'L_G':>8s}")
y1 = np.array([1])
for t in (-3.0, -1.5, 0.0, 1.5, 3.0):
    z = np.array([[0.0, t, 0.0, 0.0, -t, 0.0]])
    p = softmax(z)[0]
    ld_fake = -np.log(p[1 + K])
    lgen = -losses.log_prob_either(Tensor(z), y1 + K, y1).item()
    lg = losses.dagan_generator_loss(Tensor(z), y1, K).item()
    print(f"  {t:5.1f} {p[1]:9.3f} {p[1 + K]:9.3f} {ld_fake:9.3f} {lgen:8.3f} {lg:8.3f}")
print("  L_D's fake term and L_G pull in opposite directions (the adversarial game). L_gen is")
print("  symmetric in t: it does not care WHICH of real1/fake1 holds the mass, only that the two")
print("  together beat classes 0 and 2 (it is largest at t = 0, where all six outputs are equal).")

print("\n  The gradient of each loss with respect to the logits of that image (t = 0):")
z = Tensor(np.array([[0.0, 0.0, 0.0, 0.0, 0.0, 0.0]]), requires_grad=True)
for name, fn in [("L_D fake term", lambda z: -losses.log_prob(z, y1 + K).mean()),
                 ("L_gen", lambda z: -losses.log_prob_either(z, y1 + K, y1).mean()),
                 ("L_G", lambda z: losses.dagan_generator_loss(z, y1, K))]:
    z.grad = None
    fn(z).backward()
    print(f"    d {name:13s}/ d logits = {z.grad[0]}   (order {' '.join(NAMES)})")
print("  Gradient descent moves logits AGAINST the gradient: L_D raises fake1, L_G raises real1,")
print("  L_gen raises real1 and fake1 together; every loss lowers the other classes' logits.")

# %% Summary
section("Summary")
print("""- DAGAN's D is a 2K-way softmax: K "real class" outputs and K "generated class" outputs.
- L_D sends real images to y and generated ones to y+K; L_G wants generated images at y.
- L_c = L_data + L_gen only asks for the right class, real or generated: it is what makes
  generated images useful labelled training data for the classifier inside D.
- At test time class i scores p(i) + p(i+K).
- Every log-probability is logits - logsumexp(logits): no overflow, no log(0).""")
section("Exercises")
print("""1. (10 min) Set lc_weight = 0 (D's loss = L_D only). Using section 6, argue what D then
   learns about the class of a generated image it has correctly called "fake".
2. (10 min) Make one logit 1000 and recompute section 2 with the naive softmax, without
   subtracting the max. What breaks, and why does losses.log_prob not break?
3. (15 min) Write the Semi-GAN (K+1 outputs) discriminator loss for the same images using
   losses.semi_discriminator_loss, and compare which outputs each loss pushes up.
4. (10 min) Show with numbers that the argmax of p(i) + p(i+K) can differ from the argmax
   over the K "real" outputs alone.
Graded, with `python -m tinydagan.exercises new my_work` then `grade my_work`: the tasks
logsumexp, log_softmax, log_prob and dagan_losses (about 50 min).""")
