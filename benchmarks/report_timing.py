"""Benchmark: rendering the reports of a saved result, format by format.

    python benchmarks/report_timing.py RESULT_DIR

Reads the tables back (as `planner report` does), then times each format on its own in a scratch
copy of the folder and records the file sizes. Results are printed and appended to
benchmarks/results/report_timing.jsonl. The full-year Norway folder is the case that matters:
report.html must stay a few MB, and the workbook holds about four million cells.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
import time
from pathlib import Path

from results_file import append, run_facts

from planner.report.render import FORMATS, REPORT_FILES, write_reports
from planner.report.tables import read_saved


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result_dir", type=Path)
    args = parser.parse_args()
    t0 = time.perf_counter()
    data = read_saved(args.result_dir)
    record: dict = {"result_dir": str(args.result_dir), "instance": data.summary["instance"],
                    "hours": data.summary["hours"], "read_s": time.perf_counter() - t0,
                    "formats": {}}
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp)
        for fmt in FORMATS:
            t = time.perf_counter()
            write_reports(data, out, (fmt,))
            name = REPORT_FILES.get(fmt)
            size = (out / name).stat().st_size if name else sum(
                p.stat().st_size for p in out.glob("*.csv"))
            record["formats"][fmt] = {"seconds": round(time.perf_counter() - t, 2),
                                      "bytes": size}
            if name is None:
                shutil.rmtree(out)
                out.mkdir()
    record |= run_facts()
    print(json.dumps(record, indent=2))
    append("report_timing", record)


if __name__ == "__main__":
    main()
