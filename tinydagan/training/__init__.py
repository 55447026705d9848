"""Training and evaluating the methods: ``from tinydagan.training import TrainConfig, train``."""
from .config import METHODS, TrainConfig
from .evaluate import evaluate, predict, sample_diversity
from .methods import build_models, class_probabilities, train_step
from .trainer import Trainer, TrainingStopped, load_splits, train, vanilla_gan_samples

__all__ = ["METHODS", "TrainConfig", "Trainer", "TrainingStopped", "train", "load_splits",
           "vanilla_gan_samples", "evaluate", "predict", "sample_diversity", "build_models",
           "class_probabilities", "train_step"]
