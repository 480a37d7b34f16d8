"""Audit: the whole audit end to end (`check`, `rejudge`) and judge-vs-judge agreement on a
run. Each reads the plan and the judges built once, runs the stages, scores and writes.

May import: every stage before it (core, config, data, targets, judges, stages, stats,
outputs); only the CLI imports it.
"""
