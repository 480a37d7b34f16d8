"""Outputs: what a run leaves behind and how it is read back. The typed results record and its
schema, the registered writers (JSONL, JUnit, results.json, the evidence pack, the report), the
manifest and its signature, run-level caveats, and comparing runs.

May import: core, config, data, targets, judges, stages, stats.
"""
