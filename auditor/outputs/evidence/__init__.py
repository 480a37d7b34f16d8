"""The evidence pack: what a run records for a compliance reviewer beyond its scores (sample
answers, reviewers and their instructions, risks not measured, acceptance criteria, report
version), the crosswalk from framework clauses to those records, and the OSCAL Assessment
Results a GRC tool imports."""
