"""The feature registry: every model feature by name, with its meaning, unit and reason group.

A :class:`Feature` is metadata; the Ibis expression that computes it lives next to its
declaration in the source module (``activity``, ``service``, ``account``). The reason group
is what the explanation layer turns per-customer contributions into plain words with.

>>> f = Feature("orders_30d", "Orders placed in the 30 days before as_of.", "orders",
...             "int64", "falling purchases", "orders", fill=0)
>>> f.kind
'numeric'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

FeatureDType = Literal["int64", "float64", "string"]

#: reason groups: the plain-language families features are explained by
REASON_GROUPS: dict[str, str] = {
    "inactivity": "No order and no activity of the customer's own for a long time.",
    "falling purchases": "Buys less often or spends less than before, or not at all lately.",
    "engagement drop": "Logs in, opens, visits or attends less than before.",
    "no contact": "We have not reached out to the customer for a long time.",
    "unanswered request": "Asked for a quote or information and never heard back.",
    "complaints": "Complaints and support tickets: many, rising, open or slow to resolve.",
    "satisfaction": "Low or falling NPS / CSAT scores.",
    "price": "What the customer pays, changes in it, and reliance on promotions.",
    "plan change": "Recent downgrades or plan changes.",
    "contract ending": "Contract type and time left until the next renewal.",
    "tenure": "How long the customer has been with us.",
    "loyalty": "Loyalty programme tier and points.",
    "acquisition": "How, and with which first offer, the customer was won.",
    "profile": "Who the customer is: region, industry, plan, custom attributes.",
}

#: columns of the feature table that are keys, not features
KEY_COLUMNS = ("customer_id", "as_of")

#: custom attributes that carry the outcome (snapshot exports); never used as features
LABEL_ATTRIBUTES = frozenset({
    "churn", "churned", "churn_flag", "churn_label", "churn_value", "churn_score",
    "churn_reason", "churn_category", "churn_date", "churned_at", "is_churn", "is_churned",
    "exited", "attrition", "attrition_flag", "left", "customer_status",
})


@dataclass(frozen=True)
class Feature:
    """One named model feature.

    Parameters
    ----------
    name : str
        Column name in the feature table.
    description : str
        One sentence a business user understands; says what "as of" means for it.
    unit : str
        Unit of the value (``days``, ``orders``, ``currency``, ``ratio``, ``category`` ...).
    dtype : {"int64", "float64", "string"}
        Type of the column.
    group : str
        Reason group (a key of :data:`REASON_GROUPS`).
    source : str
        Warehouse table it is computed from, or ``derived`` (from several).
    fill : float or None
        Value for a customer with no rows in the source table (0 for counts, None for
        "unknown", e.g. days since an event that never happened).
    """

    name: str
    description: str
    unit: str
    dtype: FeatureDType
    group: str
    source: str
    fill: float | None = None

    @property
    def kind(self) -> Literal["numeric", "categorical"]:
        """``numeric`` or ``categorical``."""
        return "categorical" if self.dtype == "string" else "numeric"


def count(name: str, description: str, unit: str, group: str, source: str) -> Feature:
    """A count feature (int64, 0 when the customer has no rows)."""
    return Feature(name, description, unit, "int64", group, source, fill=0)


def amount(name: str, description: str, unit: str, group: str, source: str) -> Feature:
    """A summed amount or a trend (float64, 0 when the customer has no rows)."""
    return Feature(name, description, unit, "float64", group, source, fill=0.0)


def measure(name: str, description: str, unit: str, group: str, source: str) -> Feature:
    """A float measure that is unknown (null) when there is nothing to measure."""
    return Feature(name, description, unit, "float64", group, source)


def category(name: str, description: str, group: str, source: str) -> Feature:
    """A categorical feature (string, null when unknown)."""
    return Feature(name, description, "category", "string", group, source)


TREND_DOC = ("(recent - previous) / (|recent| + |previous|): -1 = stopped, 0 = unchanged or "
             "none, +1 = new")

_ATTR_GROUPS = (
    (re.compile(r"tenure|months_with|since_signup"), "tenure"),
    (re.compile(r"contract|renewal|commit"), "contract ending"),
    (re.compile(r"charge|price|fee|bill|mrr|revenue|payment|spend|cost"), "price"),
    (re.compile(r"loyal|points|tier|reward"), "loyalty"),
    (re.compile(r"complain|ticket|support"), "complaints"),
    (re.compile(r"nps|csat|satisf"), "satisfaction"),
    (re.compile(r"channel|offer|campaign|acquisi"), "acquisition"),
)


def attribute_feature_name(attribute: str) -> str:
    """Column name of a custom attribute's feature: ``attr_`` + the name as a word.

    >>> attribute_feature_name("Monthly Charges")
    'attr_monthly_charges'
    """
    word = re.sub(r"\W+", "_", attribute.strip().lower()).strip("_")
    return "attr_" + (word or "unnamed")


def attribute_features(attributes: dict[str, str],
                       exclude: frozenset[str] | set[str] = frozenset()) -> dict[str, Feature]:
    """Features of the custom attributes ``{attribute: kind}`` (kind numeric/categorical).

    Returns ``{attribute: Feature}``. Label-like attributes (:data:`LABEL_ATTRIBUTES`) and
    ``exclude`` are left out; the reason group is guessed from the name (``monthlycharges``
    is price, ``tenure`` is tenure), else ``profile``.

    >>> feats = attribute_features({"tenure": "numeric", "Contract": "categorical",
    ...                             "Churn": "categorical"})
    >>> [(f.name, f.dtype, f.group) for f in feats.values()]
    [('attr_contract', 'string', 'contract ending'), ('attr_tenure', 'float64', 'tenure')]
    """
    out: dict[str, Feature] = {}
    taken: set[str] = set()
    for attr in sorted(attributes):
        key = attr.strip().lower()
        if key in LABEL_ATTRIBUTES or attr in exclude or key in exclude:
            continue
        name = base = attribute_feature_name(attr)
        i = 2
        while name in taken:
            name, i = f"{base}_{i}", i + 1
        taken.add(name)
        group = next((g for rx, g in _ATTR_GROUPS if rx.search(key)), "profile")
        numeric = attributes[attr] == "numeric"
        out[attr] = Feature(
            name, f"Custom attribute {attr!r} of the customer (current value).",
            "value" if numeric else "category", "float64" if numeric else "string",
            group, "customers",
        )
    return out
