"""Optimizers (SGD, Adam, AdamW) and learning-rate schedulers (baregrad.optim.lr_scheduler), torch's names."""
from baregrad.optim import lr_scheduler
from baregrad.optim.adam import Adam, AdamW
from baregrad.optim.optimizer import Optimizer
from baregrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "lr_scheduler"]
