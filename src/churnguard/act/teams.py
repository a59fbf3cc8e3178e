"""Named teams (``[teams]``) that warning rules route alerts to (R20).

A workspace names its teams in TOML, e.g.::

    [teams]
    best_retention_staff = ["alice", "Bob Li"]
    key_accounts = ["Carol Wu"]

and a rule routes to one with ``route = "key_accounts"``: each alert goes to the member
of that team with the fewest open cases (ties: the order in the TOML). A team named
``best_retention_staff`` replaces the automatic choice of the best savers from the case
history. :func:`check_routes` refuses, before anything runs, a rule that routes to a team
that is not defined, with the close matches.

>>> from churnguard.warehouse.config import RuleConfig
>>> rules = [RuleConfig(name="vip", when="clv > 1", route="key_acounts")]
>>> try:
...     check_routes(rules, {"key_accounts": ["Carol Wu"]})
... except ConfigError as exc:
...     print(str(exc)[:96])
[[rules]] 'vip' routes to 'key_acounts', which is not a team of [teams] (have: key_accounts); di
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Mapping, Sequence

from churnguard.errors import ConfigError
from churnguard.warehouse.config import RuleConfig

OWNER_ROUTE = "owner"
BEST_STAFF = "best_retention_staff"


def check_teams(teams: Mapping[str, Sequence[str]]) -> None:
    """Every team has a name and at least one member, and none is called ``owner``."""
    for name, members in teams.items():
        if not name.strip():
            raise ConfigError("[teams]: a team needs a name")
        if name == OWNER_ROUTE:
            raise ConfigError('[teams]: "owner" is reserved (it routes to the customer\'s '
                              "owner); name the team differently")
        if not [m for m in members if str(m).strip()]:
            raise ConfigError(f"[teams] {name!r} has no members; list them, e.g. "
                              f'{name} = ["alice", "Bob Li"]')


def check_routes(rules: Iterable[RuleConfig], teams: Mapping[str, Sequence[str]]) -> None:
    """Refuse a rule whose ``route`` is neither ``owner``, ``best_retention_staff``, a team
    of ``teams`` nor one of their members (a person may be named directly).

    Raises :class:`ConfigError` naming the rule, the teams there are and the close matches.
    """
    check_teams(teams)
    members = {m for ms in teams.values() for m in ms}
    for rule in rules:
        if not rule.enabled:
            continue
        route = rule.route
        if route in (OWNER_ROUTE, BEST_STAFF) or route in teams or route in members:
            continue
        close = difflib.get_close_matches(route, [*teams, *members, OWNER_ROUTE, BEST_STAFF],
                                          n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else "."
        raise ConfigError(
            f"[[rules]] {rule.name!r} routes to {route!r}, which is not a team of [teams] "
            f"(have: {', '.join(sorted(teams)) or 'none'}){hint} Route to \"owner\", "
            "\"best_retention_staff\", a [teams] name or one of its members.")


def pick_member(members: Sequence[str], load: Mapping[str, int]) -> str:
    """The member with the fewest open cases; ties go to the one listed first.

    >>> pick_member(["alice", "Bob Li"], {"alice": 2, "Bob Li": 1})
    'Bob Li'
    >>> pick_member(["alice", "Bob Li"], {})
    'alice'
    """
    if not members:
        raise ConfigError("a team needs at least one member")
    return min(members, key=lambda m: (load.get(m, 0), list(members).index(m)))


__all__ = ["BEST_STAFF", "OWNER_ROUTE", "check_routes", "check_teams", "pick_member"]
