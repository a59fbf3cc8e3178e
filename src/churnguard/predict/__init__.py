"""Predict churn: point-in-time features (:mod:`churnguard.predict.features`), the model,
backtests, explanations, the model registry and scoring.

    train(ws, horizon="90d")            # fit, backtest, grade, register (models/vN), activate
    run_backtest(ws, origins=6)         # rolling origins (snapshots: cross-validation)
    score(ws, as_of="today", out=...)   # probability, band, reasons x3 languages, CLV, loss
    explain(ws, "C001234")              # one customer's reasons
"""

from churnguard.predict.registry import ModelRegistry, ModelRegistryError
from churnguard.predict.score import explain, score, score_history
from churnguard.predict.train import TrainResult, run_backtest, train

__all__ = ["ModelRegistry", "ModelRegistryError", "TrainResult", "explain", "run_backtest",
           "score", "score_history", "train"]
