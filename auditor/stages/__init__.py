"""Stages: the audit's work on a model, in order, each committing to the run's store as it
goes. Generation (the model under test answers), judging (the judges label the answers), and
reading the outcomes back, and the human labels the store holds (`review_labels`). The store
is what makes a run resumable and cached.

May import: core, config, data, targets, judges.
"""
