"""Core: what every stage shares. Errors, the ALERT taxonomy, the records of one answer
(`Judgement`, `Outcome`), verdicts and how they combine, fingerprints and judge cards, the
binomial intervals every figure uses, the registry type, progress callbacks, and where
shipped files are.

May import: nothing else in auditor.
"""
