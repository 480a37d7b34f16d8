"""Statistics: pure functions from the stages' outcomes to scores, intervals and verdicts. The
micro, equal-weight, judge-corrected and human-reviewed estimators (and the review's design),
a policy's verdict with its reason and next step, what could certify it, and over-refusal. No
I/O, no randomness.

May import: core, config, data, targets, judges, stages (it needs core, config, data, and the
stages' types for review labels and answer ids).
"""
