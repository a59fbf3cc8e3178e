"""Act on churn: warning rules, alerts, retention cases, targeting, win-back, experiments.

Import the modules directly, e.g. ``from churnguard.act.experiments import experiment``:
``expr`` (safe rule expressions), ``rules`` (default rules, loading, evaluation),
``inputs`` (the per-customer table rules read), ``alerts`` (cooldown, routing),
``channels`` and ``outbox`` (delivery, exactly-once), ``cases`` (retention cases),
``run`` (the daily pipeline), ``evaluate`` (rule precision / recall on simulator truth).
"""
