"""Instance file → validated :class:`Instance`; every problem is collected, located and raised
together as one :class:`InputError`."""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, RootModel, ValidationError

from planner.errors import InputError, Problem
from planner.instance import instance as inst
from planner.instance.schema import (
    Applicant,
    InstanceFile,
    LoadClass,
    Presets,
    ProtectedDemand,
    Supply,
    SupplyKind,
)
from planner.instance.series import SeriesReader
from planner.instance.yamlsource import SourceTree, read_document, to_plain

_SERIES_TAGS = {"float", "list[float]", "SeriesFile"}
_SERIES_HINT = "expected a number, a list with one number per hour, or {file: ..., column: ...}"


def models_dir() -> Path:
    """The preset library: shipped inside the wheel, or the repository's models/ folder."""
    here = Path(__file__).resolve().parent.parent
    shipped = here / "_models"
    return shipped if shipped.is_dir() else here.parent / "models"


def validate(tree: SourceTree, schema: type[BaseModel],
             adjust: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] | None = None) -> Any:
    """Validate a parsed document against a schema; raise located problems. ``adjust`` may
    rewrite pydantic's errors first (for example to merge the branches of a union)."""
    try:
        return schema.model_validate(to_plain(tree.root))
    except ValidationError as exc:
        errors = exc.errors(include_url=False)
        raise InputError(_located(tree, adjust(errors) if adjust else errors)) from None


def _located(tree: SourceTree, errors: Iterable[dict[str, Any]]) -> list[Problem]:
    problems: list[Problem] = []
    series_seen: set[tuple] = set()
    for err in errors:
        loc = list(err["loc"])
        tag = next((i for i, k in enumerate(loc) if k in _SERIES_TAGS), None)
        if tag is not None:
            # A series is a union; report what the user meant from the shape of their input.
            base, member = tuple(loc[:tag]), loc[tag]
            given = err.get("input")
            is_dict = isinstance(_lookup(tree.root, base), dict)
            if is_dict and member == "SeriesFile":
                problems.append(tree.problem(base + tuple(loc[tag + 1:]), _message(err)))
            elif not is_dict and member == "list[float]" and len(loc) > tag + 1:
                problems.append(tree.problem(base + tuple(loc[tag + 1:]),
                                             f"not a number (got {_short(given)})"))
            elif base not in series_seen and not is_dict and not isinstance(
                _lookup(tree.root, base), list):
                series_seen.add(base)
                problems.append(tree.problem(base, f"{_SERIES_HINT} (got {_short(given)})"))
            continue
        problems.append(tree.problem(loc, _message(err)))
    return problems


def _lookup(node: Any, loc: Sequence[str | int]) -> Any:
    for key in loc:
        try:
            node = node[key]
        except (KeyError, IndexError, TypeError):
            return None
    return node


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _message(err: dict[str, Any]) -> str:
    kind = err["type"]
    if kind == "extra_forbidden":
        return "unknown key; remove it or fix its spelling (`planner schema` lists the keys)"
    if kind == "missing":
        return "required field is missing; add it"
    msg = err["msg"]
    msg = msg[0].lower() + msg[1:]
    msg = msg.replace("input should be", "must be")
    if "input" in err and not isinstance(err["input"], (dict, list)):
        msg += f" (got {_short(err['input'])})"
    return msg


@cache
def load_presets(folder: Path | None = None) -> Presets:
    """Load-class and supply-kind presets of the model library (validated like instances)."""
    folder = folder or models_dir()
    data: dict[str, Any] = {}
    for key, fname in (("load_classes", "load_classes.yaml"), ("supply_kinds", "supply_kinds.yaml")):
        tree = read_document(folder / fname)
        sub = validate(tree, _PRESET_FILES[key])
        data[key] = sub.root
    return Presets(**data)


def _preset_file(item: type[BaseModel]) -> type[BaseModel]:
    class File(RootModel[dict[str, item]]):  # type: ignore[valid-type]
        pass

    return File


_PRESET_FILES = {"load_classes": _preset_file(LoadClass), "supply_kinds": _preset_file(SupplyKind)}


def load_instance(path: str | Path, presets: Presets | None = None) -> inst.Instance:
    """Read, validate and resolve an instance file. Raises InputError with every problem."""
    path = Path(path)
    tree = read_document(path)
    spec: InstanceFile = validate(tree, InstanceFile)
    presets = presets or load_presets()
    problems = _check_references(tree, spec, presets)
    if problems:
        raise InputError(problems)
    reader = SeriesReader(tree, spec.time.hours)
    instance = _resolve(spec, presets, reader, tree)
    problems = (reader.problems + _check_consistency(tree, instance, spec)
                + _check_magnitudes(tree, instance, spec))
    if problems:
        raise InputError(problems)
    return instance


def _duplicates(tree: SourceTree, section: str, names: list[str]) -> list[Problem]:
    counts = Counter(names)
    return [tree.problem([section, i, "name"], f"duplicate name '{n}'; names must be unique")
            for i, n in enumerate(names) if counts[n] > 1 and names.index(n) != i]


def _check_references(tree: SourceTree, spec: InstanceFile, presets: Presets) -> list[Problem]:
    """Duplicate names, unknown zones, markets, classes and kinds."""
    zones = [z.name for z in spec.zones]
    markets = [m.name for m in spec.markets]
    problems = _duplicates(tree, "zones", zones) + _duplicates(tree, "markets", markets)
    for section in ("lines", "interconnectors", "supply"):
        problems += _duplicates(tree, section, [x.name for x in getattr(spec, section)])
    loads = [a.name for a in spec.applicants] + [p.name for p in spec.protected_demand]
    counts = Counter(loads)
    problems += [tree.problem(["applicants", i, "name"], f"duplicate name '{a.name}'")
                 for i, a in enumerate(spec.applicants) if counts[a.name] > 1
                 and loads.index(a.name) != i]
    problems += [tree.problem(["protected_demand", i, "name"], f"duplicate name '{p.name}'")
                 for i, p in enumerate(spec.protected_demand) if counts[p.name] > 1
                 and loads.index(p.name) != i + len(spec.applicants)]

    def known(value: str, allowed: list[str], loc: list[str | int], what: str) -> None:
        if value not in allowed:
            listed = ", ".join(allowed) if allowed else "none defined"
            problems.append(tree.problem(loc, f"unknown {what} '{value}' (known: {listed})"))

    for i, line in enumerate(spec.lines):
        known(line.from_zone, zones, ["lines", i, "from"], "zone")
        known(line.to_zone, zones, ["lines", i, "to"], "zone")
        if line.from_zone == line.to_zone:
            problems.append(tree.problem(["lines", i, "to"], "a line must join two different zones"))
    for i, ic in enumerate(spec.interconnectors):
        known(ic.zone, zones, ["interconnectors", i, "zone"], "zone")
        known(ic.market, markets, ["interconnectors", i, "market"], "market")
    for i, s in enumerate(spec.supply):
        known(s.zone, zones, ["supply", i, "zone"], "zone")
        known(s.kind, sorted(presets.supply_kinds), ["supply", i, "kind"], "supply kind")
    for section, items in (("applicants", spec.applicants), ("protected_demand",
                                                             spec.protected_demand)):
        for i, a in enumerate(items):
            known(a.zone, zones, [section, i, "zone"], "zone")
            known(a.load_class, sorted(presets.load_classes), [section, i, "class"], "load class")
    return problems


def _resolve(spec: InstanceFile, presets: Presets, reader: SeriesReader,
             tree: SourceTree) -> inst.Instance:
    markets = tuple(
        inst.Market(m.name, reader.read(m.price_nok_per_mwh, ["markets", i, "price_nok_per_mwh"]))
        for i, m in enumerate(spec.markets))
    supply = tuple(_resolve_supply(s, presets.supply_kinds[s.kind], reader, ["supply", i])
                   for i, s in enumerate(spec.supply))
    applicants = tuple(
        _resolve_applicant(a, presets.load_classes[a.load_class], reader, ["applicants", i])
        for i, a in enumerate(spec.applicants)
    ) + tuple(
        _resolve_protected(p, presets.load_classes[p.load_class], reader, ["protected_demand", i])
        for i, p in enumerate(spec.protected_demand))
    return inst.Instance(
        name=spec.name, description=spec.description, start=spec.time.start,
        hours=spec.time.hours, zones=tuple(z.name for z in spec.zones), markets=markets,
        lines=tuple(inst.Line(x.name, x.from_zone, x.to_zone, x.capacity_mw,
                              x.reverse_capacity_mw, x.loss_factor) for x in spec.lines),
        interconnectors=tuple(inst.Interconnector(x.name, x.zone, x.market, x.export_mw,
                                                  x.import_mw) for x in spec.interconnectors),
        supply=supply, applicants=applicants, path=tree.path,
        sha256=hashlib.sha256(tree.path.read_bytes()).hexdigest(),
    )


def _pick(value: Any, default: Any) -> Any:
    return default if value is None else value


def _resolve_supply(s: Supply, kind: SupplyKind, reader: SeriesReader,
                    loc: list[str | int]) -> inst.Supply:
    avail = reader.read(_pick(s.availability, kind.availability), [*loc, "availability"], 0, 1)
    storage = s.storage_mwh or 0.0
    inflow = None
    if kind.reservoir:
        for field in ("storage_mwh", "inflow_mwh"):
            if getattr(s, field) is None:
                reader.problems.append(reader.tree.problem(
                    [*loc, field], f"a '{s.kind}' supply needs {field}; add it"))
        if s.inflow_mwh is not None:
            inflow = reader.read(s.inflow_mwh, [*loc, "inflow_mwh"], 0, None)
    else:
        for field in ("storage_mwh", "inflow_mwh", "initial_storage_share", "final_storage_share"):
            if getattr(s, field) is not None:
                reader.problems.append(reader.tree.problem(
                    [*loc, field], f"only reservoir kinds take {field}; '{s.kind}' is not one"))
    return inst.Supply(
        name=s.name, zone=s.zone, kind=s.kind, capacity_mw=s.capacity_mw, availability=avail,
        marginal_cost_nok_per_mwh=_pick(s.marginal_cost_nok_per_mwh,
                                        kind.marginal_cost_nok_per_mwh),
        reservoir=kind.reservoir, storage_mwh=storage, inflow_mwh=inflow,
        initial_storage_mwh=storage * _pick(s.initial_storage_share, kind.initial_storage_share),
        final_storage_mwh=storage * _pick(s.final_storage_share, kind.final_storage_share),
    )


def _resolve_applicant(a: Applicant, cls: LoadClass, reader: SeriesReader,
                       loc: list[str | int]) -> inst.Applicant:
    window = a.window or cls.window
    own = a.own_supply
    return inst.Applicant(
        name=a.name, zone=a.zone, load_class=a.load_class, requested_mw=a.requested_mw,
        existing_mw=a.existing_mw,
        profile=reader.read(_pick(a.profile, cls.profile), [*loc, "profile"], 0, 1),
        weight_nok_per_mwh=_pick(a.weight_nok_per_mwh, cls.weight_nok_per_mwh),
        firm_share=_pick(a.firm_share, cls.firm_share),
        max_curtailment_share=_pick(a.max_curtailment_share, cls.max_curtailment_share),
        value_of_lost_load_nok_per_mwh=_pick(a.value_of_lost_load_nok_per_mwh,
                                             cls.value_of_lost_load_nok_per_mwh),
        ramp_mw_per_h=_pick(a.ramp_mw_per_h, cls.ramp_mw_per_h),
        window_hours=window.hours if window else None,
        window_min_share=window.min_share if window else 0.0,
        own_capacity_mw=own.capacity_mw if own else 0.0,
        own_cost_nok_per_mwh=own.cost_nok_per_mwh if own else 0.0,
        own_availability=(reader.read(own.availability, [*loc, "own_supply", "availability"], 0, 1)
                          if own else None),
        queue_position=a.queue_position,
    )


def _resolve_protected(p: ProtectedDemand, cls: LoadClass, reader: SeriesReader,
                       loc: list[str | int]) -> inst.Applicant:
    """Protected demand is an applicant that is fully connected and firm."""
    demand = reader.read(p.demand_mw, [*loc, "demand_mw"], 0, None)
    peak = float(demand.max()) if demand.size else 0.0
    return inst.Applicant(
        name=p.name, zone=p.zone, load_class=p.load_class, requested_mw=peak, existing_mw=peak,
        profile=demand / peak if peak > 0 else np.zeros_like(demand),
        weight_nok_per_mwh=_pick(p.weight_nok_per_mwh, cls.weight_nok_per_mwh),
        firm_share=1.0, max_curtailment_share=0.0,
        value_of_lost_load_nok_per_mwh=_pick(p.value_of_lost_load_nok_per_mwh,
                                             cls.value_of_lost_load_nok_per_mwh),
        protected=True,
    )


def _check_consistency(tree: SourceTree, instance: inst.Instance,
                       spec: InstanceFile) -> list[Problem]:
    """Relations between fields that the schema alone cannot express."""
    problems = []
    for i, a in enumerate(spec.applicants):
        if a.existing_mw > a.requested_mw:
            problems.append(tree.problem(["applicants", i, "existing_mw"],
                            f"existing_mw ({a.existing_mw:g}) exceeds requested_mw "
                            f"({a.requested_mw:g}); request at least what is connected"))
    for i, a in enumerate(instance.applicants[: len(spec.applicants)]):
        if a.window_hours is not None and a.window_hours > instance.hours:
            problems.append(tree.problem(["applicants", i, "window", "hours"],
                            f"window of {a.window_hours} h is longer than the horizon "
                            f"({instance.hours} h)"))
    for i, s in enumerate(instance.supply):
        if s.reservoir and s.inflow_mwh is not None:
            reachable = s.initial_storage_mwh + float(s.inflow_mwh.sum())
            if reachable < s.final_storage_mwh - 1e-6:
                problems.append(tree.problem(["supply", i, "final_storage_share"],
                                f"end level {s.final_storage_mwh:.0f} MWh cannot be reached: "
                                f"start plus inflow is only {reachable:.0f} MWh"))
    return problems


MAX_MW = 1e6
"""Largest power (MW) an instance may hold anywhere: 30 × Norway's peak load. Larger numbers are
typos or unit mistakes, and would push HiGHS outside its numerical range."""
MAX_MWH = 1e10
"""Largest energy (MWh): 100 × Norway's total reservoir capacity."""
MAX_NOK_PER_MWH = 1e6
"""Largest price, cost, weight or value of lost load in size (NOK/MWh): 50 × the household VOLL."""

_MAGNITUDES = (
    ("markets", "price_nok_per_mwh", "price_nok_per_mwh", MAX_NOK_PER_MWH),
    ("lines", "capacity_mw", "capacity_mw", MAX_MW),
    ("lines", "reverse_capacity_mw", "reverse_capacity_mw", MAX_MW),
    ("interconnectors", "export_mw", "export_mw", MAX_MW),
    ("interconnectors", "import_mw", "import_mw", MAX_MW),
    ("supply", "capacity_mw", "capacity_mw", MAX_MW),
    ("supply", "storage_mwh", "storage_mwh", MAX_MWH),
    ("supply", "inflow_mwh", "inflow_mwh", MAX_MWH),
    ("supply", "marginal_cost_nok_per_mwh", "marginal_cost_nok_per_mwh", MAX_NOK_PER_MWH),
    ("applicants", "requested_mw", "requested_mw", MAX_MW),
    ("applicants", "existing_mw", "existing_mw", MAX_MW),
    ("applicants", "ramp_mw_per_h", "ramp_mw_per_h", MAX_MW),
    ("applicants", "own_capacity_mw", "own_supply.capacity_mw", MAX_MW),
    ("applicants", "own_cost_nok_per_mwh", "own_supply.cost_nok_per_mwh", MAX_NOK_PER_MWH),
    ("applicants", "weight_nok_per_mwh", "weight_nok_per_mwh", MAX_NOK_PER_MWH),
    ("applicants", "value_of_lost_load_nok_per_mwh", "value_of_lost_load_nok_per_mwh",
     MAX_NOK_PER_MWH),
    ("protected_demand", "requested_mw", "demand_mw", MAX_MW),
    ("protected_demand", "weight_nok_per_mwh", "weight_nok_per_mwh", MAX_NOK_PER_MWH),
    ("protected_demand", "value_of_lost_load_nok_per_mwh", "value_of_lost_load_nok_per_mwh",
     MAX_NOK_PER_MWH),
)
"""(section, attribute of the resolved entry, field in the file, largest size allowed)."""


def _check_magnitudes(tree: SourceTree, instance: inst.Instance,
                      spec: InstanceFile) -> list[Problem]:
    """Every number (after defaults, series scaling) within the planner's stated range."""
    n = len(spec.applicants)
    entries = {"markets": instance.markets, "lines": instance.lines,
               "interconnectors": instance.interconnectors, "supply": instance.supply,
               "applicants": instance.applicants[:n], "protected_demand": instance.applicants[n:]}
    problems = []
    for section, attr, field, limit in _MAGNITUDES:
        for i, entry in enumerate(entries[section]):
            value = getattr(entry, attr)
            if value is None:
                continue
            largest = float(np.max(np.abs(value))) if np.size(value) else 0.0
            if largest > limit:
                problems.append(tree.problem([section, i, *field.split(".")],
                                f"{largest:.4g} is beyond the planner's range (at most {limit:.0e} "
                                "in size); check the unit"))
    return problems
