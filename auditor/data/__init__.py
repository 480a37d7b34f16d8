"""Data: the prompts and labels an audit reads. ALERT (local files or the Hub cache), the
project's benign look-alike prompts, human-labelled answers for judges, the seeded selection of
prompts per policy, and the plan of one audit (`plan.Audit`), built in one place.

May import: core, config.
"""
