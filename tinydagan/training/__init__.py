"""Training and evaluating the methods: ``from tinydagan.training import TrainConfig, train``."""
from .config import TrainConfig
from .evaluate import evaluate, predict, sample_diversity
from .methods import METHODS, Method, get_method
from .run_data import RunData, load_splits, prepare_data
from .trainer import Best, Trainer, TrainingStopped, train

__all__ = ["METHODS", "Method", "get_method", "TrainConfig", "Trainer", "TrainingStopped", "Best",
           "train", "load_splits", "prepare_data", "RunData", "evaluate", "predict",
           "sample_diversity"]
