"""Optimizers (SGD, Adam, AdamW, RMSprop, Adagrad, Adamax, NAdam, RAdam) and learning-rate schedulers
(baregrad.optim.lr_scheduler), torch's names."""
from baregrad.optim import lr_scheduler
from baregrad.optim.adagrad import Adagrad
from baregrad.optim.adam import Adam, AdamW
from baregrad.optim.adamax import Adamax
from baregrad.optim.nadam import NAdam
from baregrad.optim.optimizer import Optimizer
from baregrad.optim.radam import RAdam
from baregrad.optim.rmsprop import RMSprop
from baregrad.optim.sgd import SGD

__all__ = ["Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "Adamax", "NAdam", "RAdam", "lr_scheduler"]
