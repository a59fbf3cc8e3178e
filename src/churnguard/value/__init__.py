"""Statistical customer-value models: BG/NBD, Gamma-Gamma, sBG, CLV and RFM summaries."""

from churnguard.value._warnings import ConvergenceWarning, StatisticalWarning
from churnguard.value.bg_nbd import BetaGeo
from churnguard.value.clv import customer_lifetime_value
from churnguard.value.gamma_gamma import DependenceWarning, GammaGamma, IndependenceCheck
from churnguard.value.sbg import ShiftedBetaGeometric
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
    "rfm_summary",
    "simulate_beta_geo",
]
