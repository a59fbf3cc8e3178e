"""Charts of the measure results: PNG (matplotlib, no pyplot state) and HTML (Plotly, offline).

Every function takes the frame the Python API returns and a path ending in ``.png`` or
``.html``; the HTML file embeds Plotly's JavaScript (works without a network) followed by
the data as an HTML table.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from churnguard.errors import InputError

CHART_FORMATS = (".png", ".html")


def _check(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix not in CHART_FORMATS:
        raise InputError(f"{path}: a chart is written as {' or '.join(CHART_FORMATS)}")
    return suffix


def _html(fig: object, table: pd.DataFrame, path: Path) -> None:
    chart = fig.to_html(include_plotlyjs=True, full_html=False)  # type: ignore[attr-defined]
    body = table.to_html(index=False, na_rep="", float_format=lambda v: f"{v:.4g}")
    path.write_text(f"<!doctype html><html><head><meta charset='utf-8'></head><body>"
                    f"{chart}\n{body}</body></html>", encoding="utf-8")


def cohort_heatmap(frame: pd.DataFrame, path: Path, *, value: str = "retention",
                   title: str = "Retention by signup cohort") -> None:
    """Cohorts x months since signup, coloured by ``value`` (a :func:`cohorts` column)."""
    from churnguard.measure.cohorts import cohort_matrix

    kind = _check(path)
    m = cohort_matrix(frame, value)
    rows = [str(c) for c in m.index]
    cols = [int(c) for c in m.columns]
    if kind == ".html":
        import plotly.graph_objects as go

        fig = go.Figure(go.Heatmap(z=m.to_numpy(), x=cols, y=rows, colorscale="Blues",
                                   zmin=0, texttemplate="%{z:.0%}"))
        fig.update_layout(title=title, xaxis_title="months since signup",
                          yaxis_title="cohort", yaxis_autorange="reversed")
        _html(fig, frame, path)
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(max(6, 0.5 * len(cols) + 2), max(3, 0.35 * len(rows) + 1.5)))
    ax = fig.add_subplot()
    im = ax.imshow(m.to_numpy(dtype=float), cmap="Blues", vmin=0, aspect="auto")
    ax.set_xticks(range(len(cols)), [str(c) for c in cols])
    ax.set_yticks(range(len(rows)), rows)
    ax.set_xlabel("months since signup")
    ax.set_ylabel("cohort")
    ax.set_title(title)
    fig.colorbar(im, ax=ax)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def survival_curves(curves: pd.DataFrame, path: Path, *, summary: pd.DataFrame | None = None,
                    title: str = "Customer survival (Kaplan-Meier)") -> None:
    """Step curves with their confidence bands, one per segment."""
    kind = _check(path)
    if kind == ".html":
        import plotly.graph_objects as go

        fig = go.Figure()
        for seg, c in curves.groupby("segment", sort=True):
            fig.add_trace(go.Scatter(x=c.days, y=c.survival, mode="lines", name=str(seg),
                                     line_shape="hv"))
        fig.update_layout(title=title, xaxis_title="days since start",
                          yaxis_title="share still a customer", yaxis_range=[0, 1.02])
        _html(fig, summary if summary is not None else curves, path)
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, 5))
    ax = fig.add_subplot()
    for seg, c in curves.groupby("segment", sort=True):
        line = ax.step(c.days, c.survival, where="post", label=str(seg))[0]
        ax.fill_between(c.days, c.lower, c.upper, step="post", alpha=0.15,
                        color=line.get_color())
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("days since start")
    ax.set_ylabel("share still a customer")
    ax.set_title(title)
    ax.legend()
    fig.savefig(path, dpi=100, bbox_inches="tight")


def bars(frame: pd.DataFrame, path: Path, *, label: str, value: str, title: str) -> None:
    """Horizontal bars of ``value`` per ``label`` (e.g. standardized effects)."""
    kind = _check(path)
    f = frame.iloc[::-1]
    if kind == ".html":
        import plotly.graph_objects as go

        fig = go.Figure(go.Bar(x=f[value], y=f[label].astype(str), orientation="h"))
        fig.update_layout(title=title, xaxis_title=value)
        _html(fig, frame, path)
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(8, max(3, 0.3 * len(f) + 1)))
    ax = fig.add_subplot()
    ax.barh(f[label].astype(str), f[value].fillna(0))
    ax.axvline(0, color="black", linewidth=0.8)
    ax.set_xlabel(value)
    ax.set_title(title)
    fig.savefig(path, dpi=100, bbox_inches="tight")


def lines(frame: pd.DataFrame, path: Path, *, x: str, y: str, group: str | None,
          title: str) -> None:
    """One line of ``y`` over ``x`` per ``group`` (e.g. churn rate per period)."""
    kind = _check(path)
    groups = frame.groupby(group, sort=True) if group else [("all", frame)]
    if kind == ".html":
        import plotly.graph_objects as go

        fig = go.Figure()
        for g, d in groups:
            fig.add_trace(go.Scatter(x=d[x], y=d[y], mode="lines+markers", name=str(g)))
        fig.update_layout(title=title, xaxis_title=x, yaxis_title=y)
        _html(fig, frame, path)
        return
    from matplotlib.figure import Figure

    fig = Figure(figsize=(9, 5))
    ax = fig.add_subplot()
    for g, d in groups:
        ax.plot(pd.to_datetime(d[x]), d[y].astype(float), marker="o", label=str(g))
    ax.set_xlabel(x)
    ax.set_ylabel(y)
    ax.set_title(title)
    if group:
        ax.legend()
    fig.autofmt_xdate()
    fig.savefig(path, dpi=100, bbox_inches="tight")


def table_png(frame: pd.DataFrame, path: Path, *, title: str) -> None:
    """A frame drawn as a table image (for reports without a natural chart)."""
    _check(path)
    from matplotlib.figure import Figure

    shown = frame.head(40).astype(object).where(frame.head(40).notna(), "")
    fig = Figure(figsize=(min(24, 1.6 * len(frame.columns) + 1), 0.3 * len(shown) + 1.2))
    ax = fig.add_subplot()
    ax.axis("off")
    ax.set_title(title)
    cells = [[str(v)[:24] for v in row] for row in shown.itertuples(index=False)]
    if cells:
        t = ax.table(cellText=cells, colLabels=list(frame.columns), loc="center")
        t.auto_set_font_size(False)
        t.set_fontsize(7)
    fig.savefig(path, dpi=100, bbox_inches="tight")
