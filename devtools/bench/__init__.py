"""Benchmarks: `python -m devtools.bench ingest|delivery [options]` (`make bench`,
`make bench-delivery`)."""
