"""Predict churn: point-in-time features (:mod:`churnguard.predict.features`), the model,
backtests, explanations and scoring."""
