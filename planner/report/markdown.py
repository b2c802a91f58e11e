"""report.md: a short summary for a README or an e-mail. Text from the instance is escaped, so a
name cannot become a link, a table cell break or raw HTML in a Markdown renderer."""

from __future__ import annotations

import re

from planner.report import content as c
from planner.report.columns import format_value
from planner.report.run_record import run_record
from planner.report.tables import EXPLAIN, EXPLAIN_VIEW, ResultData

MD_SPECIAL = re.compile(r"([\\`*\[\]|~]|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9]))")
"""Characters with a meaning inside a line of Markdown; an underscore only at a word edge
(CommonMark ignores it inside words, so ``ai_training`` stays readable)."""

MD_ALLOCATION = ["applicant", "zone", "class", "requested_mw", "granted_mw", "granted_firm_mw",
                 "granted_nonfirm_mw", "served_share", "curtailed_mwh", "unserved_mwh"]


def md_text(text: str) -> str:
    """Literal text in Markdown: HTML characters as entities, Markdown punctuation escaped."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return MD_SPECIAL.sub(r"\\\1", text).replace("\n", " ").replace("\r", " ")


def md_table(shown: dict) -> list[str]:
    """A ``content.display`` table as a pipe table, numbers right-aligned."""
    lines = ["| " + " | ".join(md_text(h) for h in shown["headers"]) + " |",
             "|" + "|".join("---:" if n else "---" for n in shown["numeric"]) + "|"]
    lines += ["| " + " | ".join(md_text(text) for text, _ in row) + " |" for row in shown["rows"]]
    return lines


def md_record(record: list[tuple[str, str]]) -> list[str]:
    return [f"- {md_text(field.strip())}: {md_text(value)}" for field, value in record]


def md_page(title: str, subtitle: str, lead: str, blocks: list[tuple[str, list[str]]],
            record: list[tuple[str, str]]) -> str:
    """Title, subtitle, lead sentence, titled blocks of lines, run record."""
    lines = [f"# {md_text(title)}", "", f"_{md_text(subtitle)}_", "", md_text(lead), ""]
    for heading, body in blocks:
        lines += [f"## {heading}", "", *body, ""]
    lines += ["## Run record", "", *md_record(record), ""]
    return "\n".join(lines)


def result_markdown(data: ResultData) -> str:
    s, alloc = data.summary, data.tables["allocation"]
    numbers = [f"- {label}: {text} {unit}" for label, value, unit in c.headline(s, alloc)
               for text in [format_value(value, unit)]]
    return md_page(
        str(s["instance"]), f"Allocation report, {s['status']}, {s['hours']:,} hours",
        c.headline_sentence(s, alloc),
        [("Headline", numbers),
         ("By load class", md_table(c.display(c.classes_table(alloc), "classes"))),
         ("By applicant", md_table(c.display(alloc, "allocation", MD_ALLOCATION))),
         *([("Why applicants got less",
             md_table(c.display(data.tables[EXPLAIN], EXPLAIN, EXPLAIN_VIEW)))]
           if len(data.tables.get(EXPLAIN, ())) else []),
         ("Objective", md_table(c.display(c.objective_table(s), "objective")))],
        run_record(s))
