"""Review: people label a sample of a run's answers, where they already work. Choosing the
sample (seeded, stratified by the judge's verdict, an answer shared by several policies
labelled once), writing it as a spreadsheet (CSV) or JSONL whose cells can never become
formulas, and importing the labels back into the run's store, checked row by row.

May import: core, config, data, targets, judges, stages, stats, outputs.
"""
