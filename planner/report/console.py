"""The short summary printed after a solve."""

from __future__ import annotations

from planner.report.limits import limit_note, policy_limits
from planner.results import Result, class_summary


def summary_text(result: Result) -> str:
    s = result.summary
    k = s["kpis"]
    t = s["timings_s"]
    lines = [
        f"{s['instance']}: {s['status']}, {s['hours']} h, objective {s['objective_nok'] / 1e6:,.1f} "
        f"MNOK  [{s['solver']['name']}]",
        "",
        f"{'class':<16}{'requested MW':>14}{'granted MW':>12}{'firm MW':>10}"
        f"{'served TWh':>12}{'curtailed TWh':>15}{'unserved MWh':>14}",
    ]
    for cls, row in class_summary(result.allocation).iterrows():
        lines.append(f"{cls:<16}{row.requested_mw:>14,.0f}{row.granted_mw:>12,.0f}"
                     f"{row.granted_firm_mw:>10,.0f}{row.served_twh:>12.3f}"
                     f"{row.curtailed_twh:>15.3f}{row.unserved_mwh:>14,.0f}")
    lines += [
        "",
        f"exports {k['exports_twh']:.2f} TWh, imports {k['imports_twh']:.2f} TWh, "
        f"unserved {k['unserved_mwh']:,.0f} MWh, spilled {k['spill_twh']:.2f} TWh",
        "mean zonal price (NOK/MWh): " + ", ".join(
            f"{z} {p:,.0f}" for z, p in k["mean_zonal_price_nok_per_mwh"].items()),
        *(f"policy limit {limit_note(s, lim)}" for lim in policy_limits(s)),
        "time (s): " + ", ".join(f"{name.removesuffix('_s')} {v:.1f}" for name, v in t.items()),
    ]
    return "\n".join(lines)
