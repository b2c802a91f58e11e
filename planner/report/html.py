"""report.html: one self-contained page (inline CSS and SVG, no scripts, no network), rendered
with jinja2 with autoescaping on, so text from the instance is always shown as text."""

from __future__ import annotations

from dataclasses import dataclass, field

import jinja2
from markupsafe import Markup

from planner.report import charts
from planner.report import content as c
from planner.report.columns import format_value
from planner.report.run_record import run_record
from planner.report.tables import EXPLAIN, EXPLAIN_VIEW, ResultData

_ENV = jinja2.Environment(loader=jinja2.PackageLoader("planner.report", "templates"),
                          autoescape=True, trim_blocks=True, lstrip_blocks=True,
                          undefined=jinja2.StrictUndefined)


@dataclass
class Section:
    """One titled part of the page: a note, charts (SVG from ``charts``) and tables (from
    ``content.display``)."""

    id: str
    title: str
    note: str = ""
    charts: list[Markup] = field(default_factory=list)
    tables: list[dict] = field(default_factory=list)


def svg(markup: str) -> Markup:
    """A chart from ``charts``: trusted, since matplotlib escapes every label it writes."""
    return Markup(markup)


def table(df, name: str, columns: list[str] | None = None, caption: str = "") -> dict:
    return c.display(df, name, columns) | {"caption": caption}


def render_page(title: str, subtitle: str, lead: str, cards: list[tuple[str, float, str]],
                sections: list[Section], record: list[tuple[str, str]]) -> str:
    """The page: a header with the headline, a contents list, the sections, the run record."""
    from planner import __version__

    shown = [(label, format_value(value, unit), unit) for label, value, unit in cards]
    return _ENV.get_template("report.html.j2").render(
        title=title, subtitle=subtitle, lead=lead, cards=shown, sections=sections,
        record=record, version=__version__)


def result_sections(data: ResultData) -> list[Section]:
    """The sections of a solve's report, from its tables."""
    t, s = data.tables, data.summary
    alloc, dispatch = t["allocation"], t["dispatch"]
    start = charts.chosen_week(t["prices"])
    sections = [
        Section("allocation", "Who gets what",
                "Granted capacity per applicant against its request; firm capacity is served in "
                "every hour it is demanded, non-firm capacity may be curtailed.",
                [svg(charts.allocation_chart(alloc))],
                [table(c.classes_table(alloc), "classes", caption="By load class"),
                 table(alloc, "allocation", c.ALLOCATION_VIEW, caption="By applicant")]),
        Section("dispatch", "Dispatch per zone",
                "Supply above the axis, uses below it. The hourly week is the one with the highest "
                "mean zonal price (the scarcest week).",
                [svg(charts.week_dispatch_chart(dispatch, start)),
                 *([svg(charts.daily_energy_chart(dispatch))] if s["hours"] > charts.WEEK_HOURS
                   else [])]),
        Section("duration", "Curtailment and prices",
                "Duration curves: each hour's value, sorted from highest to lowest.",
                [svg(charts.duration_chart(c.curtailment_series(t["curtailment"]),
                                           "Curtailed load per class (duration curve)", "MW")),
                 svg(charts.duration_chart(c.price_series(t["prices"]),
                                           "Zonal prices (duration curve)", "NOK/MWh",
                                           cut_spikes=True))]),
    ]
    if len(t["storage"]):
        sections.append(Section("reservoirs", "Reservoirs", "",
                                [svg(charts.reservoir_chart(t["storage"]))]))
    if len(t["flows"]):
        sections.append(Section(
            "flows", "Lines and interconnectors",
            "Net flow in each link's named direction, sorted; the table gives each direction.",
            [svg(charts.flows_chart(t["flows"]))], [table(c.links_table(t["flows"]), "links")]))
    if len(t.get(EXPLAIN, ())):
        sections.append(Section(
            "explain", "Why applicants got less",
            "For each applicant granted less than it asked, curtailed or unserved: the limits that "
            "bound while it was short, in how many hours, with their shadow prices "
            "(planner explain RESULT_DIR --applicant NAME).",
            tables=[table(t[EXPLAIN], EXPLAIN, EXPLAIN_VIEW)]))
    sections.append(Section("objective", "Objective", "What the optimum is worth, term by term.",
                            tables=[table(c.objective_table(s), "objective")]))
    return sections


def result_html(data: ResultData) -> str:
    s, alloc = data.summary, data.tables["allocation"]
    subtitle = (f"Allocation report · {s['status']} · {s['hours']:,} hours · "
                f"policy: {s.get('policy') or 'none'}")
    return render_page(f"{s['instance']}", subtitle, c.headline_sentence(s, alloc),
                       c.headline(s, alloc), result_sections(data), run_record(s))
