"""Statistics: pure functions from the stages' outcomes to scores, intervals and verdicts. The
micro, equal-weight and judge-corrected estimators, a policy's verdict with its reason and next
step, and over-refusal. No I/O, no randomness.

May import: core, config, data, targets, judges, stages (it needs only core, config and data).
"""
