"""Scoring a classifier: accuracy, per-class accuracy and the confusion matrix."""
import numpy as np

from ..tensor import no_grad
from .methods import get_method

__all__ = ["predict", "evaluate", "sample_diversity"]


def predict(D, method, x, num_classes, batch_size=500):
    """Predicted labels (N,) for float images x (N, 3, S, S), D in evaluation mode.
    ``method``: a method object or name (it says how logits become class probabilities)."""
    method = get_method(method)
    was_training = D.training
    D.eval()
    preds = []
    try:
        with no_grad():
            for start in range(0, len(x), batch_size):
                logits = D(x[start:start + batch_size])
                preds.append(method.class_probabilities(logits, num_classes).argmax(axis=1))
    finally:
        D.train(was_training)
    return np.concatenate(preds) if preds else np.zeros(0, np.int64)


def evaluate(D, method, x, y, num_classes):
    """{"accuracy", "per_class" (K,), "confusion" (K, K) rows = true class} in percent/counts."""
    pred = predict(D, method, x, num_classes)
    confusion = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(confusion, (y, pred), 1)
    per_class = 100.0 * np.diag(confusion) / np.maximum(confusion.sum(axis=1), 1)
    return {"accuracy": 100.0 * float((pred == y).mean()), "per_class": per_class.tolist(),
            "confusion": confusion.tolist()}


def sample_diversity(images, labels, num_classes):
    """Mean pairwise L2 distance between images of the same class, per class (K,).
    A collapsed generator draws (nearly) the same image every time: diversity ~ 0."""
    flat = images.reshape(len(images), -1).astype(np.float64)
    out = np.zeros(num_classes)
    for k in range(num_classes):
        v = flat[labels == k]
        if len(v) < 2:
            out[k] = np.nan
            continue
        sq = (v * v).sum(1)
        d2 = np.maximum(sq[:, None] + sq[None, :] - 2 * v @ v.T, 0)
        out[k] = np.sqrt(d2)[np.triu_indices(len(v), 1)].mean()
    return out
