"""Churn labels: one row per customer *episode* (a spell of being a customer).

Three rules label a customer (see :mod:`churnguard.measure.definitions`):

contractual
    Subscriptions that overlap, touch, or restart within ``grace_days`` of the end of the
    previous ones (renewals, plan changes) form one episode. The episode churns on the day
    its last subscription ends (``churn_at`` = that ``ended_at``) if no subscription starts
    by the end of the day ``grace_days`` later. A later subscription starts a new episode
    (a reactivation). Renewal gaps are counted in calendar days (UTC), so "end one, start
    the next the same day" is always a renewal.
non_contractual
    Activity is an order, an interaction whose direction is not ``outbound`` (a customer's
    own action; null direction counts), or the signup. The episode churns ``inactive_days``
    after its last activity (``churn_at = last_activity_at + inactive_days``); activity after
    a gap longer than ``inactive_days`` starts a new episode.
snapshot
    Under ``auto``, a customer with no subscription and no activity but a ``churned`` flag
    (a snapshot export) is labelled from the flag, dated by ``churned_at`` when given.
    ``churned`` is true with a null ``churn_at`` when the date is unknown.

``auto`` uses contractual for customers with subscriptions, snapshot as above, and
non-contractual for the rest; ``contractual`` leaves customers without subscriptions out;
``non_contractual`` labels everyone from activity.

**Right-censoring.** ``observed_until`` is ``as_of`` if given, else the latest timestamp in
the data (orders, interactions - outbound ones too -, subscription starts and ends, signups,
churned_at). An
episode churns only once its whole window (inactivity, or the grace period) has passed
before ``observed_until``; otherwise it is ``censored`` (not churned, not yet known). If
subscriptions carry *scheduled* end dates in the future, pass ``as_of``.

**Point-in-time.** With ``as_of``, only rows timestamped before it are used; a
subscription ending at or after ``as_of`` is treated as still open. Adding rows at or
after ``as_of`` changes nothing. Customer attributes (segments) are the current values.

Everything is an Ibis expression (no engine SQL), so it runs on DuckDB and PySpark alike.
Date arithmetic uses only literal day intervals (one ``CASE`` branch per distinct window
in the config) and day counts since 1970, which every Ibis backend compiles. One engine
function is named: DuckDB's ``epoch``, used only on DuckDB (see ``_epoch_seconds``).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import TYPE_CHECKING

import ibis
import ibis.expr.datatypes as dt
from ibis.common.exceptions import IbisError

from churnguard.errors import InputError
from churnguard.measure.definitions import ChurnRules, SegmentOverride
from churnguard.timeutil import to_utc

if TYPE_CHECKING:
    import ibis.expr.types as ir

    from churnguard.warehouse.workspace import Workspace

TS = dt.Timestamp(timezone="UTC")
#: stands for "no end yet" in running maxima of subscription ends (far enough to add days)
OPEN_END = datetime(3000, 1, 1, tzinfo=UTC)
LABEL_COLUMNS = (
    "customer_id", "episode", "start_at", "last_activity_at", "churn_at", "definition",
    "censored", "is_reactivation", "churned", "window_days", "observed_until",
)


def plus_days(ts: ir.TimestampValue, days: ir.IntegerValue,
              values: tuple[int, ...]) -> ir.TimestampValue:
    """``ts + days`` days, with literal intervals only (``values``: every possible ``days``).

    The interval is written in seconds (``days * 86400``): in UTC, where every timestamp
    here lives, a day is always 86,400 seconds, so the instant is the same; and DuckDB adds
    seconds to a ``TIMESTAMPTZ`` several times faster than days (no calendar arithmetic).
    """
    def add(v: int) -> ir.TimestampValue:
        return ts + ibis.interval(seconds=v * 86400)

    if len(values) == 1:
        return add(values[0])
    return ibis.cases(*((days == v, add(v)) for v in values))


def segment_column(customers: ir.Table, column: str) -> ir.StringValue:
    """A customers column, or ``attributes.<name>``, as text (for segment matching)."""
    if column.startswith("attributes."):
        if "attributes" not in customers.columns:
            raise InputError(f"{column}: the customers table has no attributes column")
        value = customers.attributes[column.removeprefix("attributes.")]
        # JSON strings unwrap with .str; numbers and booleans fall back to their JSON text.
        # Engines without Ibis JSON support (PySpark stores JSON as text) need the attribute
        # flattened into a column first; contract columns work everywhere.
        return ibis.coalesce(value.str, value.cast("string"))
    if column not in customers.columns:
        raise InputError(f"{column!r} is not a column of customers")
    return customers[column].cast("string")


def _window_days(customers: ir.Table, segments: tuple[SegmentOverride, ...], attr: str,
                 default: int) -> ir.IntegerValue:
    branches = [
        (segment_column(customers, s.column) == s.value, ibis.literal(getattr(s, attr)))
        for s in segments if getattr(s, attr) is not None
    ]
    if not branches:
        return ibis.literal(default, type="int64")
    return ibis.cases(*branches, else_=default).cast("int64")


def _before(t: ir.Table, column: str, as_of: datetime | None) -> ir.Table:
    t = t.filter(t[column].notnull(), t.customer_id.notnull())
    return t if as_of is None else t.filter(t[column] < as_of)


def label_episodes(
    customers: ir.Table,
    orders: ir.Table,
    interactions: ir.Table,
    subscriptions: ir.Table,
    *,
    rules: ChurnRules | None = None,
    as_of: str | date | datetime | None = None,
    ordered: bool = True,
) -> ir.Table:
    """Label every customer episode from the four contract tables (pure, lazy, portable).

    Returns an Ibis table with one row per customer episode and the columns
    ``customer_id, episode, start_at, last_activity_at, churn_at, definition, censored,
    is_reactivation, churned, window_days, observed_until`` (see the module docstring).
    ``last_activity_at`` is, for contractual episodes, the end of the last subscription
    (``observed_until`` while one is still open).

    The episodes of one customer never overlap: each ``(start_at, churn_at]`` ends before
    the next episode starts (rates and cohorts count on it).

    Rows come sorted by customer and episode; ``ordered=False`` leaves out that sort (about
    0.2 s per million episodes), for labels that are stored or aggregated, not read.
    """
    rules = rules or ChurnRules()
    cut = to_utc(as_of)

    # -- point-in-time inputs ----------------------------------------------------------
    cust = customers.filter(customers.customer_id.notnull())
    if cut is not None:
        cust = cust.filter(cust.signup_at.isnull() | (cust.signup_at < cut))
        flag = cust.churned & (cust.churned_at.isnull() | (cust.churned_at < cut))
        flag = ibis.cases((cust.churned.isnull(), ibis.null("boolean")), else_=flag)
        cust = cust.mutate(churned=flag,
                           churned_at=ibis.cases((flag, cust.churned_at), else_=ibis.null(TS)))
    subs = _before(subscriptions, "started_at", cut)
    if cut is not None:
        subs = subs.mutate(ended_at=ibis.cases((subs.ended_at < cut, subs.ended_at),
                                               else_=ibis.null(TS)))
    ords = _before(orders, "ordered_at", cut)
    acts = _before(interactions, "at", cut)
    acts = acts.filter(acts.direction.isnull() | (acts.direction != "outbound"))
    signed = cust.filter(cust.signup_at.notnull())

    # -- observed_until: as_of, or the latest timestamp anywhere -----------------------
    # (the maximum of per-table maxima: one cheap pass per column, no union of the rows)
    if cut is not None:
        observed_until: ir.TimestampValue = ibis.literal(cut, type=TS)
        with_end = lambda t: t.mutate(observed_until=observed_until)  # noqa: E731
    else:
        def latest(t: ir.Table, col: str) -> ir.Table:
            return t.aggregate(ts=t[col].cast(TS).max())

        # every interaction counts here, outbound ones too: they are data, and the data
        # reaches their time (and a bare MAX of a column is answered from the storage's
        # statistics, where a filtered one reads every row)
        stamps = ibis.union(
            latest(ords, "ordered_at"), latest(_before(interactions, "at", cut), "at"),
            latest(signed, "signup_at"),
            latest(subs, "started_at"), latest(subs, "ended_at"),
            latest(cust, "churned_at"), distinct=False,
        )
        end_table = stamps.aggregate(observed_until=stamps.ts.max())
        with_end = lambda t: t.cross_join(end_table)  # noqa: E731

    # -- per-customer windows and the snapshot flag ------------------------------------
    params = cust.select(
        "customer_id",
        inactive_days=_window_days(cust, rules.segments, "inactive_days", rules.inactive_days),
        grace_days=_window_days(cust, rules.segments, "grace_days", rules.grace_days),
        flag=cust.churned,
        flag_at=cust.churned_at.cast(TS),
        signup=cust.signup_at.cast(TS),
    )
    sub_ids = subs.select("customer_id").distinct()

    # -- who is labelled by which rule ---------------------------------------------------
    # auto: customers with subscriptions are contractual; the others are non-contractual,
    # except those without any activity whose snapshot flag is set (snapshot).
    # contractual: only customers with subscriptions; non_contractual: everyone by activity.
    parts = []
    if rules.definition in ("auto", "contractual"):
        parts.append(_contractual(subs, params, rules, with_end))
    if rules.definition in ("auto", "non_contractual"):
        def ev(t: ir.Table, col: str, is_act: int) -> ir.Table:
            return t.select("customer_id", ts=t[col].cast(TS),
                            is_act=ibis.literal(is_act, type="int8"))

        events = ibis.union(ev(ords, "ordered_at", 1), ev(acts, "at", 1),
                            ev(signed, "signup_at", 0), distinct=False)
        if rules.definition == "auto":
            # only the activity of customers without subscriptions is ever used: drop the
            # rest before the (costly) ordering per customer
            events = events.anti_join(sub_ids, "customer_id")
        episodes = _non_contractual(events, params, rules, with_end,
                                    need_activity=rules.definition == "auto")
        if rules.definition == "auto":
            flags = params.select("customer_id", "flag")
            e = episodes.left_join(flags, "customer_id")
            e = e.filter((e.has_act > 0) | e.flag.isnull())
            parts.append(e.select(*(c for c in episodes.columns if c != "has_act")))
            active = episodes.filter(episodes.has_act > 0).select("customer_id")
            snap = params.filter(params.flag.notnull()).anti_join(sub_ids, "customer_id")
            parts.append(_snapshot(snap.anti_join(active, "customer_id"), with_end))
        else:
            parts.append(episodes.drop("has_act"))
    out = ibis.union(*parts, distinct=False)
    out = out.mutate(
        censored=~out.churned, is_reactivation=out.episode > 1
    ).select(*LABEL_COLUMNS)
    return out.order_by(["customer_id", "episode"]) if ordered else out


def _finish(t: ir.Table, definition: str, *extra: str) -> ir.Table:
    return t.select(
        *extra,
        "customer_id", episode=t.episode.cast("int64"), start_at=t.start_at.cast(TS),
        last_activity_at=t.last_activity_at.cast(TS), churn_at=t.churn_at.cast(TS),
        definition=ibis.literal(definition), churned=t.churned.fill_null(False),
        window_days=t.window_days.cast("int64"), observed_until=t.observed_until.cast(TS),
    )


def _with_window(t: ir.Table, params: ir.Table, rules: ChurnRules, attr: str) -> ir.Table:
    """``t`` with the customer's ``attr`` window (a literal when no segment overrides it)."""
    default = getattr(rules, attr)
    if not any(getattr(s, attr) is not None for s in rules.segments):
        return t.mutate(**{attr: ibis.literal(default, type="int64")})
    # customers missing from the customers table get the default window
    j = t.left_join(params.select("customer_id", attr), "customer_id")
    return j.select(*t.columns, **{attr: j[attr].fill_null(default)})


def _contractual(subs: ir.Table, params: ir.Table, rules: ChurnRules, with_end) -> ir.Table:  # type: ignore[no-untyped-def]
    s = subs.select("customer_id", "subscription_id", start=subs.started_at.cast(TS),
                    end=subs.ended_at.cast(TS).fill_null(ibis.literal(OPEN_END, type=TS)))
    s = _with_window(s, params, rules, "grace_days")
    # One ordered pass per customer gives each subscription the latest end before it (a
    # running maximum) and the customer's latest end. A subscription opens an episode when
    # it starts on a later day than grace_days after that running maximum; an episode ends
    # at the running maximum seen by the next opening subscription (every end before it
    # belongs to this episode or an earlier one, and the earlier ones end before this one
    # starts, since ended_at >= started_at), or at the customer's latest end. A second
    # pass runs over the opening rows only.
    w = ibis.window(group_by=s.customer_id, order_by=[s.start, s.subscription_id],
                    rows=(None, -1))
    everything = ibis.window(group_by=s.customer_id, order_by=[s.start, s.subscription_id],
                             rows=(None, None))
    s = s.mutate(prev_end=s.end.max().over(w), last_end=s.end.max().over(everything))
    b = s.filter(s.prev_end.isnull()
                 | (_day_number(s.start) > _day_number(s.prev_end) + s.grace_days))
    w2 = ibis.window(group_by=b.customer_id, order_by=[b.start, b.subscription_id])
    e = b.select("customer_id", episode=ibis.row_number().over(w2) + 1, start_at=b.start,
                 end=ibis.coalesce(b.prev_end.lead().over(w2), b.last_end),
                 window_days=b.grace_days)
    e = with_end(e)
    is_open = e.end >= ibis.literal(OPEN_END, type=TS)
    # the grace window has passed once observed_until is on a later day than its last day
    elapsed = _day_number(e.observed_until) > _day_number(e.end) + e.window_days
    churned = ~is_open & elapsed
    e = e.mutate(
        churned=churned,
        churn_at=ibis.cases((churned, e.end), else_=ibis.null(TS)),
        last_activity_at=ibis.cases((is_open, e.observed_until), else_=e.end),
    )
    return _finish(e, "contractual")


def _non_contractual(events: ir.Table, params: ir.Table, rules: ChurnRules, with_end,  # type: ignore[no-untyped-def]
                     *, need_activity: bool) -> ir.Table:
    """Episodes from ``(customer_id, ts, is_act)`` events, plus ``has_act`` (the customer
    has activity besides the signup).

    An event *opens* an episode when it has no predecessor or comes more than the window
    after it. No gap inside a span of ``D`` days can exceed a window of ``D`` days or more,
    so the events are first summed into fixed spans of the shortest window in use (``D``
    days each, counted from 1970-01-01 UTC): one row per customer and span, with its first
    and last event, count and activity flag. Only the first event of a span can open an
    episode, and it does when it comes more than the window after the last event of the
    previous span. On 1M simulated customers this turns 8.7M events into 1.3M spans before
    the ordered pass per customer, whose sort was most of the cost.

    The ordered pass gives each span its predecessor's last event (``lag``) and the
    customer's last event time and event count (whole-partition aggregates of the same
    ordering, so no second sort); only the opening rows are kept. Each one starts an
    episode, and the episode's last activity is the predecessor of the next opening row
    (or the customer's last event): a second, small pass over the opening rows. Duplicate
    events need no ``DISTINCT``: the gap to an equal neighbour is zero, which opens nothing.
    """
    days = rules.inactive_day_values()
    ts = events.ts
    # a zero-day window: every later event opens, so each instant is its own span
    span = _epoch_seconds(ts) // (86400 * days[0]) if days[0] >= 1 else ts
    e = events.group_by([events.customer_id, span.name("span")]).aggregate(
        first=ts.min(), last_=ts.max(), n=ts.count(), is_act=events.is_act.max())
    e = _with_window(e, params, rules, "inactive_days")
    w = ibis.window(group_by=e.customer_id, order_by=e["first"], rows=(None, None))
    e = e.mutate(prev=e.last_.lag().over(w), last=e.last_.max().over(w),
                 n=e.n.sum().over(w))
    b = e.filter(e.prev.isnull() | (e["first"] > plus_days(e.prev, e.inactive_days, days)))
    w2 = ibis.window(group_by=b.customer_id, order_by=b["first"])
    # activity besides the signup: a customer has at most one signup event, so with two
    # events or more there is activity; a lone event is activity unless it is the signup
    has_act = ((b.is_act > 0) | (b.n > 1)).cast("int8") if need_activity else (
        ibis.literal(1, type="int8"))
    g = b.select(
        "customer_id", episode=ibis.row_number().over(w2) + 1, start_at=b["first"],
        last_activity_at=ibis.coalesce(b.prev.lead().over(w2), b["last"]),
        window_days=b.inactive_days, has_act=has_act,
    )
    g = with_end(g)
    due = plus_days(g.last_activity_at, g.window_days, days)
    churned = due < g.observed_until
    g = g.mutate(churned=churned, churn_at=ibis.cases((churned, due), else_=ibis.null(TS)))
    return _finish(g, "non_contractual", "has_act")


@ibis.udf.scalar.builtin(name="epoch")
def _duckdb_epoch(ts: TS) -> dt.float64:  # type: ignore[valid-type,empty-body]
    """DuckDB's ``epoch`` of a ``TIMESTAMPTZ``: seconds since 1970-01-01 UTC."""


def _epoch_seconds(ts: ir.TimestampValue) -> ir.NumericValue:
    """Seconds since 1970-01-01 UTC of a UTC timestamp.

    Ibis' ``epoch_seconds`` first casts a ``TIMESTAMPTZ`` to a naive ``TIMESTAMP`` on
    DuckDB, a time-zone conversion per row (about 0.07 s per million rows, most of the cost
    of splitting events into spans); DuckDB's own ``epoch`` reads the instant directly.
    Other engines (PySpark: ``unix_timestamp``, whole seconds) use Ibis' operation.
    """
    try:
        engine = ibis.get_backend(ts).name
    except IbisError:  # an unbound expression: compile it the portable way
        engine = ""
    return _duckdb_epoch(ts) if engine == "duckdb" else ts.epoch_seconds()


def _day_number(ts: ir.TimestampValue) -> ir.NumericValue:
    """The UTC calendar day of ``ts`` as a day count since 1970-01-01: comparing these
    is comparing ``ts.date()``s, without a date conversion per row."""
    return _epoch_seconds(ts) // 86400


def _snapshot(who: ir.Table, with_end) -> ir.Table:  # type: ignore[no-untyped-def]
    s = with_end(who)
    churned = s.flag.fill_null(False)
    s = s.mutate(
        episode=ibis.literal(1, type="int64"), start_at=s.signup,
        churned=churned,
        churn_at=ibis.cases((churned, s.flag_at), else_=ibis.null(TS)),
        last_activity_at=ibis.cases((churned, s.flag_at), else_=ibis.null(TS)),
        window_days=ibis.null("int64"),
    )
    return _finish(s, "snapshot")


def labels(
    ws: Workspace,
    *,
    as_of: str | date | datetime | None = None,
    definition: str | None = None,
    inactive_days: int | None = None,
    grace_days: int | None = None,
    ordered: bool = True,
) -> ir.Table:
    """Churn labels of a workspace: :func:`label_episodes` on its tables and ``[churn]`` config.

    Arguments given here override the config (segment overrides still apply); ``ordered``
    is that of :func:`label_episodes`.
    Returns a lazy Ibis table; call ``.to_pandas()`` or ``.to_polars()`` to run it.
    """
    rules = ChurnRules.from_config(ws.config.churn, definition=definition,
                                   inactive_days=inactive_days, grace_days=grace_days)
    wh = ws.warehouse
    return label_episodes(wh.table("customers"), wh.table("orders"), wh.table("interactions"),
                          wh.table("subscriptions"), rules=rules, as_of=as_of,
                          ordered=ordered)
