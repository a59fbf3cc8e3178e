"""Customer value: BG/NBD, Gamma-Gamma, sBG, CLV, RFM scores and segments, SLTV."""

from churnguard.value._warnings import ConvergenceWarning, StatisticalWarning
from churnguard.value.bg_nbd import BetaGeo
from churnguard.value.clv import customer_lifetime_value
from churnguard.value.gamma_gamma import DependenceWarning, GammaGamma, IndependenceCheck
from churnguard.value.rfm import rfm_scores, segment_migrations, segment_sizes
from churnguard.value.sbg import ShiftedBetaGeometric
from churnguard.value.segments import value_risk_segments
from churnguard.value.simulate import simulate_beta_geo
from churnguard.value.summary import rfm_summary

__all__ = [
    "BetaGeo",
    "ConvergenceWarning",
    "DependenceWarning",
    "GammaGamma",
    "IndependenceCheck",
    "ShiftedBetaGeometric",
    "StatisticalWarning",
    "customer_lifetime_value",
    "rfm_scores",
    "rfm_summary",
    "segment_migrations",
    "segment_sizes",
    "simulate_beta_geo",
    "value_risk_segments",
]
