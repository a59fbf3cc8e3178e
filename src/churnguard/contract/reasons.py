"""The churn-reason taxonomy (R12 of the design brief), as data.

Five main reasons say *how* a customer was lost; sub-reasons say *what* happened.
Labels in the warehouse (``feedback.reason``, ``feedback.sub_reason``) use these codes.

>>> MAIN_REASONS["competitor"]
'pulled away: a competitor won them'
>>> SUB_REASONS["relocation"].main
'migration'
"""

from __future__ import annotations

from dataclasses import dataclass

MAIN_REASONS: dict[str, str] = {
    "deliberate": "pushed away deliberately: unprofitable, we let them go",
    "service_failure": "pushed away unintentionally: our service failed them",
    "competitor": "pulled away: a competitor won them",
    "price": "bought away: cheaper elsewhere or too expensive",
    "migration": "migration: moved away or no longer needs the product",
}


@dataclass(frozen=True)
class SubReason:
    code: str
    main: str
    description: str


SUB_REASONS: dict[str, SubReason] = {
    s.code: s
    for s in (
        SubReason("unprofitable", "deliberate", "cost to serve exceeded the margin"),
        SubReason("poor_service", "service_failure", "slow, rude or unresolved support"),
        SubReason("product_gap", "service_failure", "missing features, bugs, poor quality"),
        SubReason("over_marketing", "service_failure", "too many messages or calls"),
        SubReason("no_personalisation", "service_failure", "offers and contact not relevant"),
        SubReason("competitor", "competitor", "moved to a named or unnamed competitor"),
        SubReason("price", "price", "price too high or raised"),
        SubReason("relocation", "migration", "moved to an area we do not serve"),
        SubReason("no_longer_needed", "migration", "need ended: business closed, project done"),
    )
}

#: every code a reason label may take (main or sub)
REASON_CODES: tuple[str, ...] = tuple(MAIN_REASONS) + tuple(
    c for c in SUB_REASONS if c not in MAIN_REASONS
)
