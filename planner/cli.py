"""The ``planner`` command: thin wrappers over the Python API; errors map to exit codes.

Exit codes: 0 ok, 1 internal error, 2 invalid input, 3 infeasible, 4 unbounded,
5 solver limit (time), 6 other solver failure.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import click

from planner.errors import PlannerError


def _run(action) -> None:
    try:
        action()
    except PlannerError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="planner")
def cli() -> None:
    """Allocate scarce grid capacity among competing loads, zone by zone and hour by hour."""


def _formats(ctx: click.Context, param: click.Parameter, value: str) -> tuple[str, ...]:
    """``--formats xlsx,html``: a subset of the report formats, in the planner's order."""
    from planner.report.render import FORMATS

    picked = {f.strip().lower() for f in value.split(",") if f.strip()}
    unknown = sorted(picked - set(FORMATS))
    if unknown or not picked:
        raise click.BadParameter(f"{', '.join(unknown) or 'nothing'} is not a format; "
                                 f"pick from {','.join(FORMATS)}")
    return tuple(f for f in FORMATS if f in picked)


FORMATS_OPTION = click.option(
    "--formats", default="csv,xlsx,html,md", show_default=True, callback=_formats,
    help="Comma-separated subset of: csv (the tables and summary.json), xlsx, html, md.")


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the result tables and reports (created if missing).")
@FORMATS_OPTION
@click.option("--write-mps", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the exact LP handed to HiGHS as an MPS file.")
@click.option("--time-limit", type=click.FloatRange(min=0), help="HiGHS time limit (s).")
@click.option("--solver", type=click.Choice(["choose", "simplex", "ipm", "pdlp"]),
              default=None, help="HiGHS LP algorithm (default: the planner's tuned choice).")
@click.option("--staged", is_flag=True,
              help="Solve with grants fixed first, then the full LP from that basis.")
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def solve(instance: Path, out: Path, formats: tuple[str, ...], write_mps: Path | None,
          time_limit: float | None, solver: str | None, staged: bool, quiet: bool) -> None:
    """Solve INSTANCE; write allocation, dispatch, flows, prices, storage, curtailment and
    summary, and the reports (report.xlsx, report.html, report.md)."""

    def action() -> None:
        from planner.api import solve as solve_instance
        from planner.instance.load import load_instance
        from planner.report.console import summary_text
        from planner.report.render import write_reports
        from planner.report.tables import ResultData
        from planner.solve import SolverOptions

        t0 = time.perf_counter()
        inst = load_instance(instance)
        load_s = time.perf_counter() - t0
        options = SolverOptions(time_limit_s=time_limit, staged=staged)
        if solver:
            options.solver = solver
        result = solve_instance(inst, options, mps_path=write_mps)
        timings = result.summary["timings_s"]
        result.summary["timings_s"] = {"load_s": load_s, **timings,
                                       "total_s": time.perf_counter() - t0}
        t1 = time.perf_counter()
        write_reports(ResultData.of(result), out, formats)
        if not quiet:
            click.echo(summary_text(result))
            click.echo(f"results in {out}/ ({', '.join(formats)}; written in "
                       f"{time.perf_counter() - t1:.1f} s)")

    _run(action)


@cli.command()
@click.argument("result_dir", type=click.Path(file_okay=False, path_type=Path))
@FORMATS_OPTION
def report(result_dir: Path, formats: tuple[str, ...]) -> None:
    """Render the reports of RESULT_DIR again from its saved tables and summary.json, without
    solving; the files are replaced in RESULT_DIR."""

    def action() -> None:
        from planner.report.render import write_reports
        from planner.report.tables import read_saved

        written = write_reports(read_saved(result_dir), result_dir, formats)
        click.echo(f"wrote {', '.join(p.name for p in written)} in {result_dir}/")

    _run(action)


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
def validate(instance: Path) -> None:
    """Check INSTANCE without solving; list every problem with its file:line:column."""

    def action() -> None:
        from planner.instance.load import load_instance

        inst = load_instance(instance)
        click.echo(f"{instance}: valid ({len(inst.zones)} zones, {inst.hours} h, "
                   f"{len(inst.applicants)} loads, {len(inst.supply)} supplies)")

    _run(action)


@cli.command()
def schema() -> None:
    """Print the JSON Schema of instance files (units in the field descriptions)."""
    from planner.instance.schema import InstanceFile

    click.echo(json.dumps(InstanceFile.model_json_schema(by_alias=True), indent=2))


def main() -> None:
    cli()
