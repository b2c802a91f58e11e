"""Writing results: the tables (CSV, summary.json) and the reports built on them.

tables.py (CSV/JSON in and out, atomic writes, formula guard) → content.py (what the reports
say) → excel.py, html.py + charts.py, markdown.py (one format each) → render.py (which files a
result folder holds). comparison.py renders policies side by side through the same writers.
"""
