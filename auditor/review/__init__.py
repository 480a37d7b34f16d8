"""Review: people label a sample of a run's answers, where they already work. Choosing the
sample (seeded; simple, or stratified by category and the judge's verdict where that decides
sooner; an answer shared by several policies labelled once), writing it as a workbook, CSV or
JSONL whose cells can never become formulas, importing the labels back into the run's store
checked row by row, and the review's record for the outputs (reviewers, agreement).

May import: core, config, data, targets, judges, stages, stats, outputs.
"""
