"""Act on churn: warning rules, alerts, retention cases, targeting, win-back, experiments.

Import the modules directly, e.g. ``from churnguard.act.experiments import experiment``.
"""
