"""Report charts as inline SVG (matplotlib, no pyplot state, no scripts).

Every chart has a title, axis units and a legend. A full year stays light: hourly detail only for
one chosen week, daily energy for the year, duration curves subsampled to ``CURVE_POINTS``. The
SVG is deterministic (fixed id salt, no date), so re-rendering saved results gives the same file.
"""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import matplotlib as mpl
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

CURVE_POINTS = 240
"""Points per duration curve: enough for its shape at report width, light for 8 760 hours."""

WEEK_HOURS = 168

PATH_DATA = re.compile(r' d="[^"]*"')
DECIMALS = re.compile(r"(\.\d)\d+")

STYLE = {
    "svg.hashsalt": "planner-report",  # stable element ids → identical files from run to run
    "svg.fonttype": "none",  # text stays text: smaller, selectable, in the page's own font
    "text.parse_math": False,  # a '$' in a name is a dollar sign, not mathematics
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.color": "#dddddd",
    "grid.linewidth": 0.6,
    "legend.frameon": False,
    "axes.formatter.useoffset": False,  # 5 000 000 on the axis, not 5 with "1e6" in a corner
    "axes.formatter.limits": (-6, 12),
}

SUPPLY_COLOURS = {"hydro_reservoir": "#1f5f99", "run_of_river": "#6baed6", "wind": "#41ab5d",
                  "solar": "#fdd835", "thermal": "#8d6e63", "nuclear": "#7e57c2",
                  "own_supply": "#c7e9c0", "imports": "#80cdc1", "line_inflow": "#c8c8c8",
                  "unserved": "#d62728"}
USE_COLOURS = {"households": "#6a3d9a", "industry": "#ff7f00", "ai_training": "#e377c2",
               "ai_inference": "#c994c7", "bitcoin_mining": "#a6761d", "hydrogen": "#17becf",
               "exports": "#80cdc1", "line_outflow": "#969696"}
"""Trade in one colour on both sides of the axis; red only for unserved load."""
CYCLE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
         "#bcbd22", "#17becf"]


def colour(name: str, k: int) -> str:
    """A stable colour for a supply kind or load class, else the k-th of a cycle."""
    return SUPPLY_COLOURS.get(name) or USE_COLOURS.get(name) or CYCLE[k % len(CYCLE)]


@contextmanager
def _figure(width: float, height: float, rows: int = 1, cols: int = 1,
            sharex: bool = False) -> Iterator[tuple[Figure, np.ndarray]]:
    with mpl.rc_context(STYLE):
        fig = Figure(figsize=(width, height), layout="constrained")
        axes = np.atleast_1d(fig.subplots(rows, cols, sharex=sharex, squeeze=False).ravel())
        yield fig, axes


def to_svg(fig: Figure) -> str:
    """The figure as an <svg> element for inlining (no XML prolog, no fixed pixel size)."""
    buf = io.StringIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buf, format="svg", metadata={"Date": None, "Creator": None})
    svg = buf.getvalue()
    svg = svg[svg.index("<svg"):]
    # path coordinates to 0.1 pt (a tenth of a pixel at report width), not 1e-6: half the bytes
    svg = PATH_DATA.sub(lambda m: DECIMALS.sub(r"\1", m.group(0)), svg)
    # scale with the page: keep the viewBox, drop the fixed width and height in points
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"', r'<svg\1 role="img"', svg, count=1)


def downsample_sorted(values: np.ndarray, points: int = CURVE_POINTS) -> tuple[np.ndarray, np.ndarray]:
    """A duration curve: values sorted high to low, read at ``points`` evenly spaced shares of
    the hours, always keeping the first and last (the extremes). Returns (hours share %, value)."""
    ordered = np.sort(np.asarray(values, dtype=float))[::-1]
    n = len(ordered)
    if n == 0:
        return np.zeros(0), np.zeros(0)
    idx = np.unique(np.linspace(0, n - 1, min(points, n)).round().astype(int))
    return 100.0 * idx / max(n - 1, 1), ordered[idx]


def allocation_chart(alloc: pd.DataFrame) -> str:
    """Requested MW (outline) against granted firm and non-firm MW, one bar per applicant
    (protected demand is not an applicant: it is in the tables, not here)."""
    df = alloc[~alloc["protected"].astype(bool)].iloc[::-1]
    height = 1.0 + 0.24 * len(df)
    with _figure(9, height) as (fig, (ax,)):
        y = np.arange(len(df))
        ax.barh(y, df["requested_mw"], color="none", edgecolor="#555555", linewidth=0.8,
                label="requested")
        ax.barh(y, df["granted_firm_mw"], color="#1f5f99", label="granted, firm", height=0.6)
        ax.barh(y, df["granted_nonfirm_mw"], left=df["granted_firm_mw"], color="#8fbde0",
                label="granted, non-firm", height=0.6)
        ax.set_yticks(y, [f"{a} ({z})" for a, z in zip(df["applicant"], df["zone"], strict=True)])
        ax.set_ylim(-0.7, len(df) - 0.3)
        ax.grid(axis="y", visible=False)
        ax.set_xlabel("MW")
        ax.set_title("Granted against requested capacity per applicant")
        fig.legend(loc="outside lower center", ncols=3)
        return to_svg(fig)


def _balance_parts(d: pd.DataFrame) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """Supply (positive) and uses (negative) of one zone's dispatch rows, in MW or MWh."""
    skip = {"curtailed_supply_mw", "own_supply_mw", "unserved_mw", "exports_mw", "imports_mw",
            "line_inflow_mw", "line_outflow_mw", "zonal_price_nok_per_mwh"}
    kinds = [c for c in d.columns if c.endswith("_mw") and not c.startswith("served_")
             and c not in skip]
    supply = {c.removesuffix("_mw"): d[c].to_numpy() for c in kinds}
    for c in ("own_supply", "imports", "line_inflow", "unserved"):
        supply[c] = d[f"{c}_mw"].to_numpy()
    uses = {c.removeprefix("served_").removesuffix("_mw"): d[c].to_numpy()
            for c in d.columns if c.startswith("served_")}
    uses["exports"] = d["exports_mw"].to_numpy()
    uses["line_outflow"] = d["line_outflow_mw"].to_numpy()
    keep = lambda parts: {k: v for k, v in parts.items() if np.abs(v).max(initial=0) > 1e-6}  # noqa: E731
    return keep(supply), keep(uses)


def _mirror(ax: Axes, x: np.ndarray, supply: dict, uses: dict, step: bool) -> None:
    kw = {"step": "post"} if step else {}
    for sign, parts in ((1, supply), (-1, uses)):
        base = np.zeros(len(x))
        for k, (name, v) in enumerate(parts.items()):
            top = base + sign * v
            ax.fill_between(x, base, top, color=colour(name, k), linewidth=0, label=name,
                            gid="use" if sign < 0 else "supply", **kw)
            base = top
    ax.axhline(0, color="black", linewidth=0.6)


def _mirror_legend(fig: Figure, axes: np.ndarray) -> None:
    """One legend for all zones: supplies (above the axis) first, then uses (below it)."""
    supply, uses = {}, {}
    for ax in axes:
        for coll in ax.collections:
            label = coll.get_label()
            if not label.startswith("_"):
                (uses if coll.get_gid() == "use" else supply).setdefault(label, coll)
    handles = {**supply, **uses}
    fig.legend(list(handles.values()), [n.replace("_", " ") for n in handles],
               loc="outside right upper", title="supply (above)\nuses (below)")


def chosen_week(prices: pd.DataFrame) -> int:
    """First hour of the week shown hourly: the 7 days (from a midnight) with the highest mean
    zonal price over all zones, the scarcest week; hour 0 when the horizon is a week or less."""
    zones = [c for c in prices.columns if c not in ("hour", "timestamp")]
    mean = prices[zones].mean(axis=1).to_numpy()
    if len(mean) <= WEEK_HOURS:
        return 0
    starts = np.arange(0, len(mean) - WEEK_HOURS + 1, 24)
    window = np.convolve(mean, np.ones(WEEK_HOURS), "valid")[starts]
    return int(starts[int(np.argmax(window))])


def _zone_charts(dispatch: pd.DataFrame, title: str, x_label: str, y_label: str,
                 frame: Callable[[pd.DataFrame], tuple[np.ndarray, pd.DataFrame]], step: bool) -> str:
    zones = list(dict.fromkeys(dispatch["zone"]))
    with _figure(10, 0.6 + 1.9 * len(zones), rows=len(zones), sharex=True) as (fig, axes):
        for ax, zone in zip(axes, zones, strict=True):
            x, d = frame(dispatch[dispatch["zone"] == zone])
            supply, uses = _balance_parts(d)
            _mirror(ax, x, supply, uses, step)
            ax.set_title(zone, loc="left", fontsize=9, fontweight="bold")
            ax.set_ylabel(y_label)
        axes[-1].set_xlabel(x_label)
        fig.suptitle(title)
        _mirror_legend(fig, axes)
        return to_svg(fig)


def week_dispatch_chart(dispatch: pd.DataFrame, start: int) -> str:
    """Hourly supply and uses per zone, stacked, for the week from hour ``start``."""

    def frame(d: pd.DataFrame):
        d = d[(d["hour"] >= start) & (d["hour"] < start + WEEK_HOURS)]
        return d["timestamp"].to_numpy(), d

    first = dispatch.loc[dispatch["hour"] == start, "timestamp"].iloc[0]
    return _zone_charts(dispatch, f"Hourly dispatch per zone, week from {first:%Y-%m-%d}",
                        "hour", "MW", frame, step=True)


def daily_energy_chart(dispatch: pd.DataFrame) -> str:
    """Daily energy per zone (GWh), stacked supply above the axis and uses below it; drawn
    when the horizon is longer than the week shown hourly."""

    def frame(d: pd.DataFrame):
        numeric = d.drop(columns=["zone", "hour"]).set_index("timestamp")
        daily = numeric.resample("1D").sum() / 1e3
        return daily.index.to_numpy(), daily

    return _zone_charts(dispatch, "Daily energy per zone over the horizon", "day", "GWh per day",
                        frame, step=False)


def _cut_spikes(ax: Axes, series: dict[str, np.ndarray], unit: str) -> None:
    """Scarcity hours priced at the value of lost load would flatten every other hour to a line:
    cut the axis above them and say so in the chart."""
    values = np.concatenate(list(series.values()))
    high, top = float(np.percentile(values, 95)), float(values.max())
    if high > 0 and top > 3 * high:
        ceiling = 1.5 * high
        ax.set_ylim(top=ceiling)
        above = int(max((v > ceiling).sum() for v in series.values()))
        ax.text(0.99, 0.97, f"axis cut at {ceiling:,.0f} {unit}: up to {above:,} hours reach "
                f"{top:,.0f} {unit}", transform=ax.transAxes, ha="right", va="top", fontsize=8,
                color="#d62728")


def duration_chart(series: dict[str, np.ndarray], title: str, y_label: str,
                   cut_spikes: bool = False) -> str:
    """Duration curves: each series sorted high to low against the share of hours. Series that
    are zero throughout are named in the legend as such rather than drawn on top of each other."""
    zero = [name for name, v in series.items() if np.abs(v).max(initial=0) <= 1e-6]
    series = {name: v for name, v in series.items() if name not in zero}
    with _figure(9, 3.2) as (fig, (ax,)):
        for k, (name, values) in enumerate(series.items()):
            x, y = downsample_sorted(values)
            ax.plot(x, y, color=colour(name, k), linewidth=1.4, label=name.replace("_", " "))
        ax.set_xlim(0, 100)
        ax.set_xlabel("share of hours at or above the value (%)")
        ax.set_ylabel(y_label)
        ax.set_title(title)
        if cut_spikes and series:
            _cut_spikes(ax, series, y_label)
        if zero:
            ax.plot([], [], " ", label="zero throughout:\n" + "\n".join(n.replace("_", " ") for n in zero))
        fig.legend(loc="outside right upper")
        return to_svg(fig)


def reservoir_chart(storage: pd.DataFrame) -> str:
    """End-of-day reservoir levels (TWh) with each reservoir's capacity dashed."""
    with _figure(9, 3.2) as (fig, (ax,)):
        for k, (name, d) in enumerate(storage.groupby("reservoir", sort=False)):
            daily = d.set_index("timestamp")["storage_mwh"].resample("1D").last() / 1e6
            c = CYCLE[k % len(CYCLE)]
            ax.plot(daily.index, daily.to_numpy(), color=c, linewidth=1.4, label=name)
            ax.axhline(d["storage_limit_mwh"].iloc[0] / 1e6, color=c, linestyle="--", linewidth=0.8)
        ax.set_ylabel("TWh")
        ax.set_xlabel("day")
        ax.set_title("Reservoir levels at the end of each day (capacity dashed)")
        fig.legend(loc="outside right upper")
        return to_svg(fig)


def flows_chart(flows: pd.DataFrame) -> str:
    """Per line and interconnector: duration curve of the net flow in its named direction
    (MW), with the limit each way dashed."""
    links = list(dict.fromkeys(flows["link"]))
    cols = 4 if len(links) > 4 else max(len(links), 1)
    rows = -(-len(links) // cols)
    with _figure(10, 0.6 + 1.9 * rows, rows=rows, cols=cols) as (fig, axes):
        for ax, link in zip(axes, links, strict=False):
            d = flows[flows["link"] == link]
            ends = list(dict.fromkeys(d["from"]))
            fwd, rev = (d[d["from"] == e] for e in (ends[0], ends[-1]))
            net = fwd["flow_mw"].to_numpy() - (rev["flow_mw"].to_numpy() if len(ends) > 1 else 0)
            x, y = downsample_sorted(net)
            ax.plot(x, y, color="#1f5f99", linewidth=1.3, label="net flow")
            ax.axhline(fwd["limit_mw"].iloc[0], color="#d62728", linestyle="--", linewidth=0.8,
                       label="limit")
            if len(ends) > 1:
                ax.axhline(-rev["limit_mw"].iloc[0], color="#d62728", linestyle="--", linewidth=0.8)
            to = fwd["to"].iloc[0]
            ax.set_title(f"{link}\n{ends[0]} → {to} positive", fontsize=8)
            ax.set_ylabel("MW")
        for ax in axes[len(links):]:
            ax.set_visible(False)
        axes[0].legend(loc="lower left", fontsize=7)
        fig.supxlabel("share of hours at or above the value (%)")
        fig.suptitle("Flows on lines and interconnectors (duration curves; limits dashed)")
        return to_svg(fig)


def grouped_bars(table: pd.DataFrame, title: str, unit: str) -> str:
    """One group of bars per row (a policy), one bar per column (e.g. a load class)."""
    with _figure(9, 1.2 + 0.3 * len(table) * max(1, min(len(table.columns), 4))) as (fig, (ax,)):
        n = len(table.columns)
        y = np.arange(len(table))
        h = 0.8 / max(n, 1)
        for k, col in enumerate(table.columns):
            ax.barh(y + (k - (n - 1) / 2) * h, table[col].to_numpy(dtype=float), height=h,
                    color=colour(str(col), k), label=str(col).replace("_", " "))
        ax.set_yticks(y, [str(i) for i in table.index])
        ax.invert_yaxis()
        ax.grid(axis="y", visible=False)
        ax.axvline(0, color="black", linewidth=0.6)
        ax.set_xlabel(unit)
        ax.set_title(title)
        fig.legend(loc="outside right upper")
        return to_svg(fig)
