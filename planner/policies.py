"""Named policies: overrides of a validated instance, read from its ``policies:`` section or a
separate policy file, with the same located errors as the instance itself.

A policy changes weights and connection terms per load class or per applicant, reorders the
connection queue, ranks applicants in priority tiers (solved lexicographically, see
``planner.session``) and adds system limits: a cap on net exports, a floor on domestic supply
and a reserve-margin requirement. ``apply_policy`` returns a changed copy of the instance; the
limits and tiers become LP rows in ``planner.session``. docs/policies.md describes every field.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from planner.errors import InputError, Problem
from planner.instance.instance import Applicant, Instance
from planner.instance.load import load_presets, validate
from planner.instance.schema import Name, NonNegative, Share, Source, Strict_
from planner.instance.yamlsource import SourceTree, read_document

if TYPE_CHECKING:
    from planner.solve import CompiledLP

QUEUE = "queue"
"""``tiers: queue``: protected demand, then existing connections, then one tier per queue
position."""
OTHERS = "*"
"""A tier member that stands for every applicant not named in another tier."""
TRADE = "trade"
"""A tier member that stands for the interconnectors' export revenue − import cost."""
EXISTING = "existing"
"""A tier member that stands for the delivery obligations of every existing connection: the
lost-load terms (value of lost load × unserved energy), not the applicants' other terms."""
TOKENS = (OTHERS, TRADE, EXISTING)
BASE = "base"
"""The instance as given, without a policy: a name reserved for it in compare and sweep."""


@dataclass(frozen=True)
class TierSpec:
    """One priority tier resolved against an instance."""

    applicants: tuple[Applicant, ...]
    """Applicants whose whole value belongs to the tier."""
    trade: bool = False
    existing: bool = False

    def columns(self, by_applicant: dict[str, dict[str, np.ndarray]],
                lp: CompiledLP) -> np.ndarray | None:
        """The LP columns whose costs make up the tier's value, sorted (None: none): its
        applicants' columns (``ModelIndex.applicant_columns``), with trade the interconnectors'
        net_export_mw, with existing connections every unserved_mw column."""
        parts = [np.concatenate(list(by_applicant[a.name].values())) for a in self.applicants]
        if self.trade:
            parts.append(lp.columns("net_export_mw"))
        if self.existing:
            parts += [c["unserved_mw"] for c in by_applicant.values() if "unserved_mw" in c]
        return np.unique(np.concatenate(parts)) if parts else None

    def label(self) -> str:
        names = [a.name for a in self.applicants]
        shown = names[:3] + ([f"+{len(names) - 3}"] if len(names) > 3 else [])
        return ", ".join(shown + [TRADE] * self.trade + ["existing connections"] * self.existing)
HOURS_PER_YEAR = 8760.0


class Override(Strict_):
    """What a policy changes for a load class or one applicant; fields left out stay as they are."""

    weight_nok_per_mwh: float | None = Field(None, description="Value of each MWh served (NOK/MWh).")
    firm_share: Share | None = Field(
        None, description="Share of granted MW that must be served every hour (1 = firm).")
    max_curtailment_share: Share | None = Field(
        None, description="Largest share of demand energy that may be curtailed over the horizon.")


class ReserveMargin(Strict_):
    """(1 + margin) × firm demand granted ≤ firm supply capacity (hydro turbines, thermal and
    firm import), for the whole system or for every zone."""

    margin: NonNegative = Field(description="Required reserve as a share of firm demand (0.8 = 80 %).")
    scope: Literal["system", "zone"] = Field(
        "system", description="One system-wide row, or one row per zone (imports over lines count).")


Tier = Annotated[list[Name], Field(min_length=1)]


class PolicySpec(Strict_):
    """A named override of the instance: the base plus the changes listed here."""

    name: Name = Field(description="Policy name, used on the command line (--policies).")
    description: str = Field("", description="What the policy stands for: its reasoning.")
    source: Source = ""
    classes: dict[str, Override] = Field({}, description="Overrides per load class.")
    applicants: dict[str, Override] = Field(
        {}, description="Overrides per applicant (after the class overrides).")
    queue_order: list[Name] | None = Field(
        None, description="Applicant names in connection-queue order; unlisted ones follow in "
                          "their old order.")
    tiers: Literal["queue"] | list[Tier] | None = Field(
        None, description="Priority tiers, highest first: lists of class or applicant names, "
                          "'*' (all others) or 'trade'; or 'queue' (protected demand, then the "
                          "queue order).")
    tier_tolerance: float = Field(
        1e-6, ge=0, le=0.1, description="Relative tolerance with which each tier's optimal value "
                                        "is held in later stages.")
    export_cap_twh: NonNegative | None = Field(
        None, description="Largest net export over the interconnectors (TWh per year; pro rata "
                          "for shorter horizons).")
    domestic_floor_twh: NonNegative | None = Field(
        None, description="Least energy served to domestic loads, every class but exports (TWh "
                          "per year; pro rata for shorter horizons).")
    reserve_margin: ReserveMargin | None = None


class PolicySection(BaseModel):
    """The ``policies:`` section of an instance file (other keys are the instance's)."""

    model_config = ConfigDict(extra="ignore", strict=True)
    policies: list[PolicySpec] = []


class PolicyFile(Strict_):
    """A separate policy file (``--policy-file``): only policies."""

    policies: list[PolicySpec] = Field(min_length=1)


def load_policies(inst: Instance, policy_file: Path | None = None) -> dict[str, PolicySpec]:
    """The policies of an instance file, or of a separate policy file, by name; every problem
    (schema, unknown names, duplicates) is raised together as one located InputError."""
    if policy_file is not None:
        tree = read_document(Path(policy_file))
        specs = validate(tree, PolicyFile, _merge_tier_branches).policies
    elif inst.path is not None:
        tree = read_document(inst.path)
        specs = validate(tree, PolicySection, _merge_tier_branches).policies
    else:
        return {}
    problems = _check_policies(tree, specs, inst)
    if problems:
        raise InputError(problems)
    return {p.name: p for p in specs}


_QUEUE_TAG = "literal['queue']"


def _merge_tier_branches(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``tiers`` is 'queue' or a list of tiers; report one problem in the user's terms, not
    one per branch of the union: a scalar gets one message, a list its items' problems."""
    out = []
    for err in errors:
        loc = list(err["loc"])
        tag = next((i for i, k in enumerate(loc) if k == _QUEUE_TAG
                    or (isinstance(k, str) and k.startswith("list[list["))), None)
        if tag is None:
            out.append(err)
        elif loc[tag] == _QUEUE_TAG and not isinstance(err.get("input"), list):
            out.append({**err, "loc": tuple(loc[:tag]), "type": "tiers",
                        "msg": "must be 'queue' or a list of tiers, each a list of class or "
                               "applicant names"})
        elif loc[tag] != _QUEUE_TAG and err["type"] != "list_type":
            out.append({**err, "loc": tuple(loc[:tag] + loc[tag + 1:])})
    return out


def select(policies: dict[str, PolicySpec], names: list[str], where: str) -> list[PolicySpec]:
    """The named policies, in the order given; unknown names are an input error."""
    unknown = [n for n in names if n not in policies]
    if unknown:
        known = ", ".join(policies) or "none defined"
        raise InputError([Problem(where, None, None, "policies",
                                  f"unknown policy {', '.join(map(repr, unknown))} (known: {known})")])
    return [policies[n] for n in names]


def _check_policies(tree: SourceTree, specs: list[PolicySpec], inst: Instance) -> list[Problem]:
    classes = sorted(load_presets().load_classes)  # a policy file may serve several instances
    apps = {a.name: a for a in inst.applicants}
    problems: list[Problem] = []
    counts = Counter(p.name for p in specs)
    seen: set[str] = set()
    for i, p in enumerate(specs):
        loc: list[str | int] = ["policies", i]
        if counts[p.name] > 1 and p.name in seen:
            problems.append(tree.problem([*loc, "name"], f"duplicate policy name '{p.name}'"))
        if p.name == BASE:
            problems.append(tree.problem([*loc, "name"], f"'{BASE}' names the instance without "
                                         "overrides on the command line; give the policy another name"))
        if p.name in (".", "..") or any(c in p.name for c in '/\\'):
            problems.append(tree.problem([*loc, "name"], "compare writes each policy into a folder "
                                         "of its name: use no '/' or '\\', and not '.' or '..'"))
        seen.add(p.name)

        def unknown(what: str, name: str, where: list[str | int], known: list[str]) -> None:
            shown = ", ".join(known[:12]) + (", ..." if len(known) > 12 else "")
            problems.append(tree.problem(where, f"unknown {what} '{name}' (known: {shown})"))

        for cls, ov in p.classes.items():
            if cls not in classes:
                unknown("load class", cls, [*loc, "classes", cls], classes)
            elif cls == "households" and _changes_terms(ov):
                problems.append(tree.problem([*loc, "classes", cls], "protected demand is always "
                                             "firm: only weight_nok_per_mwh may be overridden"))
        for name, ov in p.applicants.items():
            if name not in apps:
                unknown("applicant", name, [*loc, "applicants", name], list(apps))
            elif apps[name].protected and _changes_terms(ov):
                problems.append(tree.problem([*loc, "applicants", name], "protected demand is "
                                             "always firm: only weight_nok_per_mwh may be overridden"))
        for k, name in enumerate(p.queue_order or []):
            if name not in apps or apps[name].protected:
                unknown("queued applicant", name, [*loc, "queue_order", k],
                        [a for a in apps if not apps[a].protected])
            elif name in (p.queue_order or [])[:k]:
                problems.append(tree.problem([*loc, "queue_order", k],
                                             f"'{name}' is listed twice; give each applicant once"))
        if isinstance(p.tiers, list):
            members = Counter(m for tier in p.tiers for m in tier)
            for t, tier in enumerate(p.tiers):
                for k, name in enumerate(tier):
                    where = [*loc, "tiers", t, k]
                    if name not in apps and name not in classes and name not in TOKENS:
                        unknown("tier member (class, applicant, '*', 'trade' or 'existing')",
                                name, where, classes + list(apps))
                    elif members[name] > 1:
                        problems.append(tree.problem(where, f"'{name}' is in more than one tier"))
    return problems


def _changes_terms(ov: Override) -> bool:
    return ov.firm_share is not None or ov.max_curtailment_share is not None


def structure_key(inst: Instance) -> tuple:
    """What decides the LP's variables, rows and coefficients besides weights: the terms."""
    return tuple((a.name, a.firm_share, a.max_curtailment_share) for a in inst.applicants)


def apply_policy(inst: Instance, policy: PolicySpec | None) -> Instance:
    """A copy of the instance with the policy's weights, terms and queue order (class overrides
    first, then applicant overrides). Limits and tiers are LP rows, added by planner.session."""
    if policy is None:
        return inst
    order = _queue_positions(inst, policy.queue_order)
    applicants = []
    for a in inst.applicants:
        changes: dict[str, object] = {}
        for ov in (policy.classes.get(a.load_class), policy.applicants.get(a.name)):
            if ov is not None:
                changes |= {k: v for k, v in ov.model_dump().items() if v is not None}
        if a.name in order:
            changes["queue_position"] = order[a.name]
        applicants.append(replace(a, **changes) if changes else a)
    return replace(inst, applicants=tuple(applicants))


def _queue_positions(inst: Instance, queue_order: list[str] | None) -> dict[str, int]:
    """Queue position (1 = first) of every queued applicant under a new order."""
    if not queue_order:
        return {}
    rest = sorted((a for a in inst.applicants if not a.protected and a.name not in queue_order),
                  key=lambda a: (a.queue_position is None, a.queue_position or 0))
    return {name: k + 1 for k, name in enumerate([*queue_order, *(a.name for a in rest)])}


def tier_members(inst: Instance, policy: PolicySpec) -> list[TierSpec]:
    """The policy's tiers, highest first, resolved against the (policy's) instance."""
    if policy.tiers is None:
        return []
    if policy.tiers == QUEUE:
        # first come, first served applies to new capacity: connections that exist keep their
        # rights, so their obligations rank right after protected demand
        protected = tuple(a for a in inst.applicants if a.protected)
        queued = sorted((a for a in inst.applicants if not a.protected),
                        key=lambda a: (a.queue_position is None, a.queue_position or 0))
        return [TierSpec(protected), TierSpec((), existing=True), *(TierSpec((a,)) for a in queued)]
    named = {m for tier in policy.tiers for m in tier}
    return [TierSpec(tuple(a for a in inst.applicants
                           if a.name in tier or a.load_class in tier
                           or (OTHERS in tier and a.name not in named
                               and a.load_class not in named)),
                     trade=TRADE in tier, existing=EXISTING in tier)
            for tier in policy.tiers]


def name_of(policy: PolicySpec | None) -> str:
    """A policy's name; BASE for the instance as given."""
    return policy.name if policy else BASE


def per_horizon_mwh(inst: Instance, twh_per_year: float) -> float:
    """An annual energy limit (TWh/yr) scaled to the instance's horizon (MWh)."""
    return twh_per_year * 1e6 * inst.hours / HOURS_PER_YEAR


def firm_supply_mw(inst: Instance, zone: str | None) -> float:
    """Firm supply capacity (MW) of a zone, or of the system: reservoir hydro turbines and
    thermal plants at nameplate, plus import capacity over interconnectors (and, for a zone,
    over lines into it)."""
    plants = sum(s.capacity_mw for s in inst.supply
                 if (s.reservoir or s.kind == "thermal") and zone in (None, s.zone))
    imports = sum(i.import_mw for i in inst.interconnectors if zone in (None, i.zone))
    if zone is not None:
        imports += sum(x.reverse_capacity_mw for x in inst.lines if x.from_zone == zone)
        imports += sum(x.capacity_mw for x in inst.lines if x.to_zone == zone)
    return plants + imports


def recorded_policy(summary: dict, where: str) -> PolicySpec | None:
    """The policy a result's summary.json records (``where``: its path), with its overrides, so
    that a folder can be checked against the instance as the policy changed it; None for the
    instance as given."""
    record = summary.get("policy")
    if not isinstance(record, dict) or record.get("name") is None:
        return None
    try:
        return PolicySpec.model_validate(record.get("overrides"))
    except ValidationError:
        raise InputError([Problem(where, None, None, "policy.overrides",
                                  f"policy '{record['name']}' is recorded without valid overrides "
                                  "(written by an older planner?); solve the policy again")]) from None
