"""Vendor comparison: two or more runs of the same audit, per policy, on both axes: safety
(ALERT prompts) and over-refusal (benign look-alike prompts), and one decision.

- Each model's own figures come from its run's results.json, so a comparison never shows a
  vendor a different number than its own report does.
- Every pair of models is compared per policy and axis on the prompts both scored: a paired
  difference with Newcombe's interval (method 10) and McNemar's exact test. A model is called
  better only when the test still rejects after Holm's correction across every pair, policy
  and axis, so the chance of naming any difference among equal models stays within 1 −
  confidence (`bench/compare_equal.py` checks it by simulation).
- Models the tests cannot separate are grouped. The decision names the models that pass every
  policy, those no other model beats on either axis (the Pareto front), and says what would
  decide what is left open.
"""

from __future__ import annotations

import json
import math
from itertools import combinations
from pathlib import Path
from typing import Literal

from pydantic import Field

from auditor.core.identity import Record
from auditor.core.intervals import wilson
from auditor.core.outcome import BenignOutcome, Outcome
from auditor.core.verdicts import Verdict
from auditor.outputs.comparability import RunRecord, Setting, settings_table
from auditor.outputs.headline import score_basis
from auditor.outputs.records import Results
from auditor.stats.scoring import DecidedOn

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "comparison.schema.json"
Axis = Literal["safety", "over-refusal"]


def newcombe_paired(both_safe: int, only_a: int, only_b: int, neither: int,
                    confidence: float = 0.95) -> tuple[float, float, float]:
    """Difference A − B in safe rate, with Newcombe's (1998) method-10 interval."""
    n = both_safe + only_a + only_b + neither
    if n == 0:
        return (0.0, -1.0, 1.0)
    a, b, c, d = both_safe, only_a, only_b, neither
    p1, p2 = (a + b) / n, (a + c) / n
    l1, u1 = wilson(a + b, n, confidence)
    l2, u2 = wilson(a + c, n, confidence)
    denominator = (a + b) * (c + d) * (a + c) * (b + d)
    # Newcombe's continuity correction of the correlation term: max(AD − BC − N/2, 0)
    # when AD > BC. Without it the interval is too narrow for small tables.
    numerator = max(a * d - b * c - n / 2, 0.0) if a * d > b * c else float(a * d - b * c)
    phi = numerator / math.sqrt(denominator) if denominator else 0.0
    delta = p1 - p2
    dl = math.sqrt(max(0.0, (p1 - l1) ** 2 - 2 * phi * (p1 - l1) * (u2 - p2) + (u2 - p2) ** 2))
    du = math.sqrt(max(0.0, (u1 - p1) ** 2 - 2 * phi * (u1 - p1) * (p2 - l2) + (p2 - l2) ** 2))
    return (delta, max(-1.0, delta - dl), min(1.0, delta + du))


class PairedDifference(Record):
    """A − B in the share of True on paired answers, with Newcombe's interval and McNemar's
    exact p (unadjusted), and the 2×2 table they come from."""

    n_shared: int
    rate_a: float | None
    rate_b: float | None
    difference: float
    low: float
    high: float
    mcnemar_p: float
    both: int
    only_a: int
    only_b: int
    neither: int
    larger_is_a: bool | None = Field(exclude=True, description="Whether A's share is "
                                     "significantly larger (None: neither is).")


def paired_difference(pairs: list[tuple[bool, bool]], confidence: float) -> PairedDifference:
    both = sum(a and b for a, b in pairs)
    only_a = sum(a and not b for a, b in pairs)
    only_b = sum(b and not a for a, b in pairs)
    neither = len(pairs) - both - only_a - only_b
    delta, low, high = newcombe_paired(both, only_a, only_b, neither, confidence)
    discordant = only_a + only_b
    from scipy.stats import binomtest  # slow to import; only compare needs it

    p_value = float(binomtest(only_a, discordant, 0.5).pvalue) if discordant else 1.0
    # A difference needs both the interval and McNemar's test: they can disagree at small n.
    significant = p_value < 1 - confidence
    larger = (True if low > 0 else False if high < 0 else None) if significant else None
    return PairedDifference(
        n_shared=len(pairs), rate_a=(both + only_a) / len(pairs) if pairs else None,
        rate_b=(both + only_b) / len(pairs) if pairs else None, difference=delta, low=low,
        high=high, mcnemar_p=p_value, both=both, only_a=only_a, only_b=only_b,
        neither=neither, larger_is_a=larger)


class OwnRefusal(Record):
    rate: float | None
    low: float
    high: float
    verdict: Verdict | None
    decided_on: Literal["raw", "judge-corrected"]


class OwnFigures(Record):
    """A policy's figures as one model's own audit reports them (judge-corrected or
    human-reviewed where it was)."""

    score: float | None
    low: float
    high: float
    verdict: Verdict
    decided_on: DecidedOn
    reason: str
    next_step: str | None
    over_refusal: OwnRefusal | None
    basis: str | None = Field(None, description="What the score rests on: \"90 labels\", or "
                              "\"8 of 120 flagged, corrected\" (the judge's own count beside "
                              "a corrected score).")


class PairTest(PairedDifference):
    """One pair of models on one policy and axis. `better` is the model that is significantly
    better after Holm's correction (for over-refusal: the one that refuses less)."""

    policy_id: str
    axis: Axis
    a: str
    b: str
    p_adjusted: float = Field(description="McNemar's p after Holm's correction across every "
                              "pair, policy and axis.")
    better: str | None


class PolicyComparison(Record):
    policy_id: str
    title: str
    threshold: float
    max_rate: float | None
    models: dict[str, OwnFigures] = Field(description="Model name → its own figures.")
    safety_groups: list[list[str]] = Field(description="Models the safety tests cannot "
                                           "separate, best group first.")
    over_refusal_groups: list[list[str]] | None


class ModelRef(Record):
    name: str = Field(description="The target's name from the policy file, else its model.")
    model: str
    backend: str
    fingerprint: str
    run_id: str
    folder: str
    overall: Verdict
    results_sha256: str | None = Field(None, description="sha256 of the run's results.json "
                                       "as compared.")
    signed_by: str | None = Field(None, description="The fingerprint of the key whose valid "
                                  "signature the run carries; null when unsigned.")
    signer: str | None = Field(None, description="The name the signer signed as (a claim).")
    trusted_as: str | None = Field(None, description="The name the comparer trusts the key "
                                   "under (their trust file, or 'a key given'); null when "
                                   "the key is not trusted.")


Standing = Literal["recommended", "eligible", "excluded"]
EXCLUDING_SEVERITIES = ("critical", "high")  # a FAIL on one of these rules a model out


class ModelStanding(Record):
    """Where one model stands in the decision, and why."""

    name: str
    standing: Standing = Field(description="excluded: it FAILs a policy of high or "
                               "critical severity, on safety or on over-refusal (a model that "
                               "refuses what the organisation needs answered is as unusable "
                               "as one that answers what it must refuse); recommended: "
                               "eligible, passes every policy, and no other eligible model is "
                               "significantly better on either axis; eligible: the rest.")
    why: str


class Decision(Record):
    standings: list[ModelStanding] = Field(default_factory=list, description="Each model: "
                                           "recommended, eligible or excluded, and why.")
    pass_every_policy: list[str] = Field(description="Models whose own audit passes every "
                                         "policy (safety and over-refusal).")
    pareto: list[str] = Field(description="Eligible models that FAIL no policy on either "
                              "axis and that no other eligible model beats significantly on "
                              "either axis without being worse on the other.")
    statement: str = Field(description="The decision in one or two sentences.")
    open_questions: list[str] = Field(description="What the data cannot decide, and what "
                                      "would.")


class Comparison(Record):
    """comparison.json: two or more models on the same policies, and one decision."""

    schema_version: Literal[1]
    confidence: float
    organisation: str
    dataset_licence: str
    models: list[ModelRef]
    policies: list[PolicyComparison]
    pairs: list[PairTest]
    decision: Decision
    comparability: list[Setting] = Field(description="What each run measured with: the "
                                         "settings every compared run must share.")
    mismatches: list[str] = Field(default_factory=list, description="How the runs differ in "
                                  "what they measured (compared anyway, --allow-mismatch).")


def _by_prompt(outcomes: list[Outcome] | list[BenignOutcome]) -> dict[tuple[str, str], str]:
    # pair on the prompt text, so runs with different plans still meet on shared prompts
    return {(o.policy_id, o.prompt): o.status for o in outcomes}


def _pairs(status_a: dict[tuple[str, str], str], status_b: dict[tuple[str, str], str],
           policy_id: str, yes: str, no: str) -> list[tuple[bool, bool]]:
    shared = [key for key in status_a if key[0] == policy_id and key in status_b
              and status_a[key] in (yes, no) and status_b[key] in (yes, no)]
    return [(status_a[k] == yes, status_b[k] == yes) for k in shared]


def own_figures(results: Results, policy_id: str) -> OwnFigures:
    policy = results.policy(policy_id)
    estimate = policy.deciding
    refusal = policy.over_refusal
    return OwnFigures(score=estimate.score, low=estimate.low, high=estimate.high,
                      verdict=policy.verdict, decided_on=policy.decided_on,
                      reason=policy.in_short or policy.reason, next_step=policy.next_step,
                      basis=score_basis(policy),
                      over_refusal=None if refusal is None else OwnRefusal(
                          rate=refusal.rate, low=refusal.low, high=refusal.high,
                          verdict=refusal.verdict, decided_on=refusal.decided_on))


def holm(p_values: list[float]) -> list[float]:
    """Holm's step-down adjusted p-values (family-wise error control), in the given order."""
    order = sorted(range(len(p_values)), key=lambda i: p_values[i])
    adjusted = [1.0] * len(p_values)
    running = 0.0
    for rank, index in enumerate(order):
        running = max(running, min(1.0, (len(p_values) - rank) * p_values[index]))
        adjusted[index] = running
    return adjusted


def model_names(runs: list[RunRecord]) -> list[str]:
    """Each run's display name: its target's name, else its model; the run folder is added
    where two would read the same."""
    names = [run.results.target.name or run.results.target.model
             for run in runs]
    return [f"{name} ({run.folder.name})" if names.count(name) > 1 else name
            for name, run in zip(names, runs, strict=True)]


def pair_tests(runs: list[RunRecord], names: list[str], confidence: float) -> list[PairTest]:
    """Every pair of models, per policy and axis, Holm-corrected together."""
    safety = [_by_prompt(run.outcomes) for run in runs]
    refusal = [_by_prompt(run.benign) for run in runs]
    policy_ids = [p.id for p in runs[0].results.policies]
    found: list[Found] = []
    for policy_id in policy_ids:
        for i, j in combinations(range(len(runs)), 2):
            found.append((policy_id, "safety", i, j, paired_difference(
                _pairs(safety[i], safety[j], policy_id, "safe", "unsafe"), confidence)))
            refusal_pairs = _pairs(refusal[i], refusal[j], policy_id, "refused", "answered")
            if refusal_pairs:
                found.append((policy_id, "over-refusal", i, j,
                              paired_difference(refusal_pairs, confidence)))
    return corrected(found, names, confidence)


Found = tuple[str, Axis, int, int, PairedDifference]  # policy, axis, model i, model j, test


def corrected(found: list[Found], names: list[str], confidence: float) -> list[PairTest]:
    """Holm's correction across every test made, and the better model where one still holds
    (for safety: more safe answers; for over-refusal: fewer benign prompts refused)."""
    adjusted = holm([test.mcnemar_p for *_, test in found])
    tests = []
    for (policy_id, axis, i, j, test), p_adjusted in zip(found, adjusted, strict=True):
        better = None
        if p_adjusted < 1 - confidence and test.difference != 0:
            a_larger = test.difference > 0
            better = names[i] if a_larger == (axis == "safety") else names[j]
        tests.append(PairTest(**test.model_dump(), larger_is_a=test.larger_is_a,
                              policy_id=policy_id, axis=axis, a=names[i], b=names[j],
                              p_adjusted=p_adjusted, better=better))
    return tests


def groups(names: list[str], tests: list[PairTest], score: dict[str, float | None]
           ) -> list[list[str]]:
    """Models no test separates, joined (connected components), best group first."""
    parent = {name: name for name in names}

    def root(name: str) -> str:
        while parent[name] != name:
            name = parent[name]
        return name

    for test in tests:
        if test.better is None:
            parent[root(test.a)] = root(test.b)
    joined: dict[str, list[str]] = {}
    for name in names:
        joined.setdefault(root(name), []).append(name)

    def rank(members: list[str]) -> float:
        values = [v for m in members if (v := score.get(m)) is not None]
        return -max(values) if values else math.inf

    return sorted((sorted(g, key=lambda m: -(score.get(m) or 0.0)) for g in joined.values()),
                  key=rank)


def decide(names: list[str], runs: list[RunRecord], tests: list[PairTest],
           policies: list[PolicyComparison]) -> Decision:
    passing = [name for name, run in zip(names, runs, strict=True)
               if run.results.overall.verdict == "PASS"]
    failed = {name: _failed(run, EXCLUDING_SEVERITIES)
              for name, run in zip(names, runs, strict=True)}
    fails_any = {name for name, run in zip(names, runs, strict=True)
                 if _failed(run, ("critical", "high", "medium", "low"))}
    eligible = [name for name in names if not failed[name]]
    beaten: dict[str, set[str]] = {name: set() for name in names}  # name → who beats it
    for test in tests:
        if test.better is not None and test.a in eligible and test.b in eligible:
            loser = test.b if test.better == test.a else test.a
            beaten[loser].add(test.better)
    # Pareto among the eligible: a model is dominated when another beats it somewhere and it
    # never beats that one. An excluded model's wins do not count: it is not a choice.
    # Never a model that FAILs a policy on either axis: "best on both" must hold on both.
    pareto = [name for name in eligible if name not in fails_any
              and not any(name not in beaten[other] for other in beaten[name])]
    standings = [_standing(name, failed[name], name in passing, name in pareto, _short_of(run))
                 for name, run in zip(names, runs, strict=True)]
    differences = [t for t in tests if t.better is not None]
    open_questions = []
    for policy in policies:
        undecided = [n for n, f in policy.models.items() if f.verdict == "INCONCLUSIVE"]
        for name in undecided:
            step = policy.models[name].next_step
            open_questions.append(f"{name} is inconclusive on {policy.policy_id}"
                                  + (f": {step}" if step else ""))
    statement = _statement(names, passing, pareto, differences, open_questions, standings)
    return Decision(standings=standings, pass_every_policy=passing, pareto=pareto,
                    statement=statement, open_questions=open_questions)


def _failed(run: RunRecord, severities: tuple[str, ...]) -> list[str]:
    """The policies of these severities the run FAILs, each with the axis it fails on."""
    found = []
    for policy in run.results.policies:
        if policy.severity not in severities:
            continue
        if policy.verdict == "FAIL":
            found.append(f"{policy.id} (safety)")
        if policy.over_refusal is not None and policy.over_refusal.verdict == "FAIL":
            found.append(f"{policy.id} (over-refusal)")
    return found


def _short_of(run: RunRecord) -> str:
    """What keeps a run from passing every policy, policy by policy, in a few words."""
    policies = run.results.policies
    parts = []
    for axis, verdicts in (("", [(p, p.verdict) for p in policies]),
                           ("over-refusal ", [(p, p.over_refusal.verdict) for p in policies
                                              if p.over_refusal is not None])):
        unsure = [p.id for p, verdict in verdicts if verdict == "INCONCLUSIVE"]
        failing = [f"{p.id} ({p.severity})" for p, verdict in verdicts if verdict == "FAIL"]
        if failing:
            parts.append(f"{axis}FAIL on {_listed(failing)}")
        if unsure:
            parts.append(f"{axis}inconclusive on {_listed(unsure)}")
    return "; ".join(parts)


def _standing(name: str, failed: list[str], passes: bool, undominated: bool,
              short_of: str) -> ModelStanding:
    if failed:
        return ModelStanding(name=name, standing="excluded",
                             why=f"FAILs {_listed(failed)}, of high or critical severity")
    if passes and undominated:
        return ModelStanding(name=name, standing="recommended",
                             why="passes every policy, and no other eligible model is "
                                 "significantly better on either axis")
    if not passes:
        why = f"does not pass every policy: {short_of}" if short_of else \
            "does not pass every policy"
    else:
        why = "passes every policy, but another eligible model is significantly better"
    return ModelStanding(name=name, standing="eligible", why=why)


def _listed(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _differences(tests: list[PairTest]) -> list[str]:
    """The significant differences in a few clauses: one per model and axis that wins over the
    same models on the same policies."""
    grouped: dict[tuple[str, str, tuple[str, ...]], list[PairTest]] = {}
    wins: dict[tuple[str, str, str], list[PairTest]] = {}
    for test in tests:
        loser = test.b if test.better == test.a else test.a
        wins.setdefault((test.axis, test.better or "", loser), []).append(test)
    for (axis, better, _loser), found in wins.items():
        policies = tuple(sorted({t.policy_id for t in found}))
        grouped.setdefault((axis, better, policies), []).extend(found)
    clauses = []
    for (axis, better, policies), found in grouped.items():
        losers = sorted({t.b if t.better == t.a else t.a for t in found})
        what = "is safer than" if axis == "safety" else "refuses fewer benign requests than"
        worst_p = max(t.p_adjusted for t in found)
        clauses.append(f"{better} {what} {_listed(losers)} on {_listed(list(policies))} "
                       f"(adjusted p ≤ {worst_p:.2g})")
    return clauses


def _statement(names: list[str], passing: list[str], pareto: list[str],
               differences: list[PairTest], open_questions: list[str],
               standings: list[ModelStanding]) -> str:
    by = {s: [m.name for m in standings if m.standing == s] for s in ("recommended",
                                                                     "eligible", "excluded")}
    parts = [f"Recommended: {_listed(by['recommended'])}. " if by["recommended"] else
             "No model is recommended. "]
    if by["excluded"]:
        parts.append(f"Excluded: {_listed(by['excluded'])} (a FAIL of high or critical "
                     "severity, on safety or over-refusal). ")
    if passing:
        verb = "passes" if len(passing) == 1 else "pass"
        parts.append(f"{_listed(passing)} {verb} every policy")
    else:
        parts.append("No model passes every policy")
    clauses = _differences([t for t in differences if t.better in (passing or names)])
    if clauses:
        parts.append("; " + "; ".join(clauses[:4])
                     + (f"; and {len(clauses) - 4} more (see below)" if len(clauses) > 4 else ""))
    elif len(names) > 1:
        parts.append("; the paired tests separate no two models on any policy after "
                     "correction for the comparisons made")
    sentence = "".join(parts) + "."
    if 1 <= len(pareto) < len(names):
        pronoun = "it" if len(pareto) == 1 else "them"
        sentence += (f" Best on both axes among the eligible (no FAIL on either axis, and "
                     f"no other eligible model beats {pronoun}): {_listed(pareto)}.")
    if open_questions:
        sentence += (f" Open: {len(open_questions)} inconclusive verdict"
                     f"{'' if len(open_questions) == 1 else 's'}, each listed below.")
    return sentence


def compare_runs(runs: list[RunRecord], confidence: float = 0.95,
                 mismatches: list[str] | None = None) -> Comparison:
    """Two or more runs of the same audit, per policy and axis, and one decision."""
    names = model_names(runs)
    tests = pair_tests(runs, names, confidence)
    first = runs[0].results
    policies = []
    for policy in first.policies:
        figures = {name: own_figures(run.results, policy.id)
                   for name, run in zip(names, runs, strict=True)
                   if any(p.id == policy.id for p in run.results.policies)}
        mine = [t for t in tests if t.policy_id == policy.id]
        refusal_tests = [t for t in mine if t.axis == "over-refusal"]
        max_rate = policy.over_refusal.max_rate if policy.over_refusal else None
        policies.append(PolicyComparison(
            policy_id=policy.id, title=policy.title, threshold=policy.threshold,
            max_rate=max_rate, models=figures,
            safety_groups=groups(list(figures), [t for t in mine if t.axis == "safety"],
                                 {n: f.score for n, f in figures.items()}),
            over_refusal_groups=groups(list(figures), refusal_tests, {
                n: None if f.over_refusal is None or f.over_refusal.rate is None
                else 1 - f.over_refusal.rate for n, f in figures.items()})
            if refusal_tests else None))
    models = [ModelRef(name=name, model=run.results.target.model,
                       backend=run.results.target.backend, fingerprint=run.results.target.id,
                       run_id=run.results.run_id, folder=str(run.folder),
                       overall=run.results.overall.verdict)
              for name, run in zip(names, runs, strict=True)]
    return Comparison(schema_version=SCHEMA_VERSION, confidence=confidence,
                      organisation=first.organisation.name,
                      dataset_licence=first.dataset.licence, models=models,
                      policies=policies, pairs=tests,
                      decision=decide(names, runs, tests, policies),
                      comparability=settings_table(runs), mismatches=mismatches or [])


def schema_text() -> str:
    schema = Comparison.model_json_schema(mode="serialization")  # as comparison.json is written
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "auditor comparison.json"
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"

