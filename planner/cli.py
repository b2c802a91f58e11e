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


def _policy_file_option(f):
    return click.option("--policy-file", type=click.Path(dir_okay=False, path_type=Path),
                        help="Read the policies from this file instead of the instance's "
                             "policies: section.")(f)


def _policies(inst, policy_file: Path | None, names: list[str]) -> list:
    """The named policies (validated with located errors); ``base`` is the instance as is."""
    from planner.compare import BASE
    from planner.policies import load_policies, select

    policies = load_policies(inst, policy_file)
    where = str(policy_file or inst.path)
    return [None if n == BASE and n not in policies else select(policies, [n], where)[0]
            for n in names]


def _options(time_limit: float | None, solver: str | None, staged: bool = False):
    from planner.solve import SolverOptions

    options = SolverOptions(time_limit_s=time_limit, staged=staged)
    if solver:
        options.solver = solver
    return options


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


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for the result tables (created if missing).")
@click.option("--write-mps", type=click.Path(dir_okay=False, path_type=Path),
              help="Also write the exact LP handed to HiGHS as an MPS file.")
@click.option("--time-limit", type=click.FloatRange(min=0), help="HiGHS time limit (s).")
@click.option("--solver", type=click.Choice(["choose", "simplex", "ipm", "pdlp"]),
              default=None, help="HiGHS LP algorithm (default: the planner's tuned choice).")
@click.option("--staged", is_flag=True,
              help="Solve with grants fixed first, then the full LP from that basis.")
@click.option("--policy", "policy_name", help="Solve this named policy of the instance "
              "(or of --policy-file) instead of the base.")
@_policy_file_option
@click.option("--quiet", is_flag=True, help="Print nothing on success.")
def solve(instance: Path, out: Path, write_mps: Path | None, time_limit: float | None,
          solver: str | None, staged: bool, policy_name: str | None, policy_file: Path | None,
          quiet: bool) -> None:
    """Solve INSTANCE and write allocation, dispatch, flows, prices, storage and summary."""

    def action() -> None:
        from planner.api import solve as solve_instance
        from planner.instance.load import load_instance
        from planner.report.console import summary_text
        from planner.report.tables import write_csv_tables, write_json

        t0 = time.perf_counter()
        inst = load_instance(instance)
        policies = _policies(inst, policy_file, [policy_name] if policy_name else [])
        load_s = time.perf_counter() - t0
        options = _options(time_limit, solver, staged)
        if policies:
            if write_mps:
                raise click.UsageError("--write-mps writes the base LP; leave out --policy")
            from planner.session import Session

            result = Session(inst, options).solve(policies[0]).result
        else:
            result = solve_instance(inst, options, mps_path=write_mps)
        t1 = time.perf_counter()
        result.summary["timings_s"] = {"load_s": load_s, **result.summary["timings_s"]}
        write_csv_tables(result, out)
        result.summary["timings_s"]["write_s"] = time.perf_counter() - t1
        result.summary["timings_s"]["total_s"] = time.perf_counter() - t0
        write_json(result.summary, out / "summary.json")
        if not quiet:
            click.echo(summary_text(result))
            click.echo(f"results in {out}/")

    _run(action)


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
@_policy_file_option
def validate(instance: Path, policy_file: Path | None) -> None:
    """Check INSTANCE and its policies without solving; list every problem with its
    file:line:column."""

    def action() -> None:
        from planner.instance.load import load_instance
        from planner.policies import load_policies

        inst = load_instance(instance)
        policies = load_policies(inst, policy_file)
        click.echo(f"{instance}: valid ({len(inst.zones)} zones, {inst.hours} h, "
                   f"{len(inst.applicants)} loads, {len(inst.supply)} supplies, "
                   f"{len(policies)} policies{': ' if policies else ''}{', '.join(policies)})")

    _run(action)


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--policies", "names", help="Comma-separated policy names ('base' = the instance "
              "without overrides).")
@click.option("--all", "all_", is_flag=True, help="Every policy of the instance (or policy file).")
@click.option("--baseline", help="Policy the changes are measured against (default: status_quo "
              "if compared, else the first).")
@_policy_file_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for comparison.csv, comparison.json and one folder per policy.")
@click.option("--time-limit", type=click.FloatRange(min=0), help="HiGHS time limit per solve (s).")
@click.option("--cold", is_flag=True, help="Solve every policy from scratch (for checks).")
def compare(instance: Path, names: str | None, all_: bool, baseline: str | None,
            policy_file: Path | None, out: Path, time_limit: float | None, cold: bool) -> None:
    """Solve several policies of INSTANCE and compare them side by side."""

    def action() -> None:
        from planner.compare import BASE, side_by_side, write_comparison
        from planner.compare import compare as compare_policies
        from planner.instance.load import load_instance
        from planner.policies import load_policies

        if bool(names) == all_:
            raise click.UsageError("give either --policies a,b,c or --all")
        inst = load_instance(instance)
        chosen = list(load_policies(inst, policy_file)) if all_ else \
            [n.strip() for n in names.split(",") if n.strip()]
        base = baseline or ("status_quo" if "status_quo" in chosen else chosen[0] if chosen else BASE)
        if base not in chosen:
            chosen.append(base)
        policies = _policies(inst, policy_file, chosen)
        options = _options(time_limit, None)
        with click.progressbar(length=len(policies), label="solving policies", file=sys.stderr,
                               item_show_func=lambda name: name) as bar:
            comp = compare_policies(inst, policies, base, options, warm=not cold,
                                    progress=lambda name: bar.update(1, name))
        write_comparison(comp, out)
        click.echo(side_by_side(comp))
        click.echo(f"results in {out}/ (comparison.csv, comparison.json, one folder per policy)")

    _run(action)


@cli.command()
@click.argument("instance", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--vary", "what", required=True, help="weight:CLASS, weight:APPLICANT, "
              "export_cap_twh, domestic_floor_twh or reserve_margin.")
@click.option("--from", "start", type=float, required=True, help="First value.")
@click.option("--to", "stop", type=float, required=True, help="Last value.")
@click.option("--steps", type=click.IntRange(min=2, max=1000), default=11, show_default=True,
              help="Number of values, evenly spaced, ends included.")
@click.option("--policy", "policy_name", help="Sweep on top of this policy (default: the base).")
@_policy_file_option
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Folder for sweep.csv, sweep_steps.csv and breakpoints.csv.")
@click.option("--time-limit", type=click.FloatRange(min=0), help="HiGHS time limit per solve (s).")
def sweep(instance: Path, what: str, start: float, stop: float, steps: int,
          policy_name: str | None, policy_file: Path | None, out: Path,
          time_limit: float | None) -> None:
    """Sweep a weight or a limit of INSTANCE; report the allocation and its breakpoints."""

    def action() -> None:
        import numpy as np

        from planner.instance.load import load_instance
        from planner.report.tables import write_csv
        from planner.sweep import check_vary, sweep_text
        from planner.sweep import sweep as run_sweep

        inst = load_instance(instance)
        policy = _policies(inst, policy_file, [policy_name])[0] if policy_name else None
        check_vary(inst, what)
        values = np.linspace(start, stop, steps)
        with click.progressbar(length=steps, label=f"sweeping {what}", file=sys.stderr,
                               item_show_func=lambda v: None if v is None else f"{v:g}") as bar:
            result = run_sweep(inst, policy, what, values, _options(time_limit, None),
                               progress=lambda v: bar.update(1, v))
        out.mkdir(parents=True, exist_ok=True)
        write_csv(result.allocation, out / "sweep.csv")
        write_csv(result.steps, out / "sweep_steps.csv")
        write_csv(result.breakpoints, out / "breakpoints.csv")
        click.echo(sweep_text(result))
        click.echo(f"results in {out}/ (sweep.csv, sweep_steps.csv, breakpoints.csv)")

    _run(action)


@cli.command()
@click.option("--policies", "policies", is_flag=True, help="The schema of policy files instead.")
def schema(policies: bool) -> None:
    """Print the JSON Schema of instance files (units in the field descriptions)."""
    from planner.instance.schema import InstanceFile
    from planner.policies import PolicyFile

    model = PolicyFile if policies else InstanceFile
    click.echo(json.dumps(model.model_json_schema(by_alias=True), indent=2))


def main() -> None:
    cli()
