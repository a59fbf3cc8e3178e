"""A simulated business with known ground truth, for the demo, tests and evaluation.

>>> from churnguard.simulate import generate
>>> biz = generate(customers=200, months=4, seed=3)
>>> biz.tables["orders"].schema.field("ordered_at").type
TimestampType(timestamp[us, tz=UTC])
>>> "true_sub_reason" in biz.truth["customers"].column_names
True

See :mod:`churnguard.simulate.hazard` for the causal model and
:mod:`churnguard.simulate.truth` for every ground-truth column.
"""

from churnguard.simulate.business import SimulatedBusiness, generate

__all__ = ["SimulatedBusiness", "generate"]
