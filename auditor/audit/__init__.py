"""Audit: the whole audit end to end (`check`, `rejudge`), judge-vs-judge agreement on a
run, and `verify` (a run's outputs recomputed from its store, review included). Each reads
the plan and the judges built once, runs the stages, scores and writes.

May import: every stage before it (core, config, data, targets, judges, stages, stats,
outputs, review); only the CLI imports it.
"""
