"""Writing results: tables (CSV, JSON) now; richer report formats build on the same tables."""
