"""`auditor verify`: whether a run's outputs are whole and untouched, and say what the store says.

Checks, each a list of differences (with the values on both sides):
1. the manifest: present, listing every file the run writes (an entry removed is a difference,
   as is a file the run writes that it does not list), every file matching its sha256, and
   the store's content matching the digest the manifest recorded;
2. every outcome (and every over-refusal outcome) agrees with the run's store: the prompt and
   answer stored for it, and the label its judge stored for that answer; results.json names
   the model the store's answers came from;
3. everything a reader sees, recomputed from those outcomes and the store's review labels with
   the scoring code: every policy's record whole (counts, scores, intervals, verdict, reasons,
   next step, over-refusal), the overall verdict and its counts, the review record, and
   junit.xml;
4. the signature, when there is one (`auditor.outputs.signing`): it must sign the manifest as
   it is, and with `--key` be made by that key.

What an unsigned run proves: that its files are the ones its manifest lists and agree with its
store. Anyone who can write the folder can rerun the whole computation on an edited store and
write a matching manifest; only a signature by a key you trust rules that out.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from auditor import __version__
from auditor.config.policy import OverRefusal, Policy
from auditor.core.errors import AuditorError
from auditor.core.outcome import BenignOutcome, Judgement, Outcome
from auditor.core.verdicts import combined, tally
from auditor.outputs import files
from auditor.outputs.evidence.oscal import OSCAL_FILE
from auditor.outputs.evidence.pack import (
    MAX_EVIDENCE_BYTES,
    StoreFacts,
    oscal_document,
    read_evidence,
    store_facts,
)
from auditor.outputs.evidence.record import EVIDENCE, Evidence, build_evidence
from auditor.outputs.files import (
    open_run_file,
    read_benign_outcomes,
    read_outcomes,
    read_results,
    read_run_bytes,
    sha256_of_run_file,
)
from auditor.outputs.manifest import (
    ATTESTATION,
    MANIFEST,
    REPORT_NAMES,
    SIGNATURE,
    Manifest,
    read_manifest,
)
from auditor.outputs.records import Overall, Results
from auditor.outputs.report.write import render_reports
from auditor.outputs.signing import (
    Ed25519PublicKey,
    SignatureCheck,
    SignatureRecord,
    Signer,
    check_signature,
    signed_files,
)
from auditor.outputs.staged import StagedReplacement
from auditor.outputs.trust import trusted_name
from auditor.outputs.writers import junit_xml, output_names
from auditor.review.state import Review, certifying_miss, load_review, review_cells
from auditor.stages.judging import verdict_key
from auditor.stages.store import RunStore, StoredGeneration, content_key
from auditor.stats.family import scored_family
from auditor.stats.over_refusal import assess_over_refusal
from auditor.stats.review_cells import planned
from auditor.stats.scoring import PolicyRecord, score_policy

# Judges whose verdicts are keyed by the policy's text as well as the answer.
POLICY_TEXT_JUDGES = {"rubric"}
TOLERANCE = 1e-9
# The words of a decision: a later version may say the same decision in other words (and
# 0.2.0 writes shares as percentages), so a run made by another version is checked on its
# counts, figures and verdicts, and these are left out.
WORDING = frozenset({"reason", "next_step", "in_short", "warning"})
# A policy record's fields added in 0.3.0: a run made by an earlier version has none to compare.
ADDED_IN_0_3 = frozenset({"confidence", "skipped"})
# How many labels would decide a policy: 0.4.0 quotes the median for the review it plans
# (one-sided tests on the policy's finite pool), where earlier versions quoted otherwise.
QUOTED_BEFORE_0_4 = frozenset({"labels_needed"})
SHOWN_PER_CHECK = 5  # outcome differences listed one by one; the rest are counted
# Files a finished run always writes (over_refusal.jsonl only when a policy measures it).
ALWAYS_WRITTEN = (files.OUTCOMES, files.GENERATIONS, files.JUNIT, files.RESULTS, files.HTML,
                  files.PDF)


@dataclass
class Verification:
    """What `verify` found: the checks made and every difference, by check."""

    run_dir: Path
    results_sha256: str | None = None
    checked: list[str] = field(default_factory=list)
    differences: list[str] = field(default_factory=list)
    signature: SignatureCheck | None = None
    made_by: str | None = None  # the auditor version that made the run, when not this one

    @property
    def ok(self) -> bool:
        return not self.differences


def verify_run(run_dir: Path, include_report: bool = True,
               key: Ed25519PublicKey | None = None) -> Verification:
    """Check a run folder; `include_report=False` leaves report.html/pdf out (before
    re-rendering them); `key`: the run must be signed by it."""
    found = Verification(run_dir)
    results = read_results(run_dir)
    if results.tool.version != __version__:
        found.made_by = results.tool.version
    if (run_dir / files.RESULTS).exists():
        found.results_sha256 = sha256_of_run_file(run_dir / files.RESULTS)
    found.signature = check_signature(run_dir, key)
    if key is None and found.signature.valid:  # trusted only if the reader said so
        found.signature.trusted_as = trusted_name(found.signature.key_fingerprint)
        found.signature.trusted = found.signature.trusted_as is not None
    _check_signature(results, found.signature, found)
    manifest = read_manifest(run_dir)
    if manifest is None:
        found.differences.append(f"{MANIFEST} is missing: the run's outputs were never finished "
                                 "(or were written by an older auditor); rerun `auditor check`")
        return found
    _check_hashes(run_dir, manifest, results, include_report, found)
    outcomes = read_outcomes(run_dir)
    benign = read_benign_outcomes(run_dir)
    review = _check_against_store(run_dir, manifest, results, outcomes, benign, found)
    _check_scores(results, outcomes, benign, review, found)
    _check_junit(run_dir, results, found)
    return found


def _check_signature(results: Results, signature: SignatureCheck, found: Verification) -> None:
    if signature.problem is not None:
        found.differences.append(f"signature: {signature.problem}")
    if not signature.present:
        if results.signed_by is not None:
            found.differences.append(f"results.json says the run is signed by "
                                     f"{results.signed_by}, but there is no signature")
        return
    if signature.valid:
        claimed = f" as {signature.signer!r}" if signature.signer else ""
        whose = (f" (a key you trust as {signature.trusted_as!r})" if signature.trusted_as
                 else " (the key given)" if signature.trusted else "")
        found.checked.append(f"signature{claimed} by {signature.key_fingerprint}{whose}"
                             + ("" if signature.format_version == 2 else
                                " (format 1: signs the manifest, not its own time)"))
        if signature.attested:
            found.checked.append(f"{ATTESTATION} (in-toto, DSSE): signed by the same key, "
                                 f"naming every file {MANIFEST} lists")
    if signature.key_fingerprint != results.signed_by:
        found.differences.append(f"results.json names signer {results.signed_by!r}, the "
                                 f"signature is by {signature.key_fingerprint!r}")
    if signature.format_version == 2 and signature.signer != results.signer:
        found.differences.append(f"results.json names the signer {results.signer!r}, the "
                                 f"signature was made as {signature.signer!r}")


def _check_hashes(run_dir: Path, manifest: Manifest, results: Results, include_report: bool,
                  found: Verification) -> None:
    expected = set(ALWAYS_WRITTEN)
    if any(p.over_refusal for p in results.policies):
        expected.add(files.OVER_REFUSAL)
    present = {name for name in output_names() if (run_dir / name).is_file()}
    for name in sorted((expected | present) - set(manifest.files)):
        found.differences.append(f"{name} is not listed in {MANIFEST}: every file the run "
                                 "writes must be")
    for name, digest in manifest.files.items():
        if not include_report and name in REPORT_NAMES:
            continue
        path = run_dir / name
        try:
            actual = sha256_of_run_file(path)
        except FileNotFoundError:
            found.differences.append(f"{name} is missing")
            continue
        except AuditorError as exc:  # a link, a pipe, a device: never read through
            found.differences.append(exc.message)
            continue
        if actual != digest:
            found.differences.append(f"{name} was changed after the run wrote it (sha256 "
                                     f"{actual}, the manifest says {digest})")
    found.checked.append(f"sha256 of {len(manifest.files)} outputs against {MANIFEST}, and "
                         "that it lists every file the run writes")
    _list_extras(run_dir, manifest, found)


# What a run folder holds besides its outputs: the store, logs, and review files.
OWN_EXTRAS = ("store.sqlite", "store.sqlite-wal", "store.sqlite-shm", "store.lock",
              "third-party.log", MANIFEST, SIGNATURE, ATTESTATION)


def _list_extras(run_dir: Path, manifest: Manifest, found: Verification) -> None:
    """Links that leave the folder are differences (a run writes none); other files the
    manifest does not cover are listed, as nothing vouches for them."""
    extras: list[str] = []
    outward: list[str] = []
    try:
        entries = sorted(run_dir.iterdir())
    except OSError:
        return
    for entry in entries[:10_000]:
        if entry.name in manifest.files or entry.name in OWN_EXTRAS:
            if entry.is_symlink():
                outward.append(entry.name)
            continue
        if entry.is_symlink():
            target = os.path.realpath(entry)
            inside = os.path.commonpath([target, os.path.realpath(run_dir)]) == \
                os.path.realpath(run_dir)
            (extras if inside else outward).append(entry.name)
        else:
            extras.append(entry.name + ("/" if entry.is_dir() else ""))
    for name in outward:
        found.differences.append(f"{name} is a link leading out of the run folder; a run "
                                 "writes no links")
    if extras:
        found.checked.append(f"not covered by {MANIFEST} (nothing vouches for them): "
                             + ", ".join(extras[:10]) + (" …" if len(extras) > 10 else ""))


def _policy_of(results: Results, policy_id: str) -> Policy:
    """The policy as the run had it, rebuilt from its record."""
    record = results.policy(policy_id)
    return Policy(id=record.id, title=record.title, clause=record.clause,
                  description=record.description, categories=record.categories,
                  threshold=record.threshold, severity=record.severity)


def _check_against_store(run_dir: Path, manifest: Manifest, results: Results,
                         outcomes: list[Outcome], benign: list[BenignOutcome],
                         found: Verification) -> Review | None:
    """Compare the outcomes with the store; returns the store's review, if any."""
    if manifest.store not in (".", ".."):  # its own, or (re-judged) its parent run's
        found.differences.append(f"{MANIFEST} puts the run's store at {manifest.store!r}, "
                                 "outside the run folder: another run's store would vouch "
                                 "for these files")
        return None
    store_dir = (run_dir / manifest.store).resolve()
    if not (store_dir / "store.sqlite").is_file():
        found.differences.append(f"the run's store is not at {store_dir}: answers and verdicts "
                                 "cannot be checked")
        return None
    uses_policy = results.judge.kind in POLICY_TEXT_JUDGES
    texts = {p.id: _policy_of(results, p.id).judge_text() for p in results.policies}
    refusal_judge = results.over_refusal_judge.id if results.over_refusal_judge else None
    with RunStore(store_dir, read_only=True) as store:
        prompt_keys = store.prompt_keys()
        generations = store.generations(set(prompt_keys.values()))
        verdicts = store.verdicts(results.judge.id)
        refusals = store.verdicts(refusal_judge) if refusal_judge else {}
        requests = store.judged_requests(results.judge.id)
        target = store.target()
        judge = store.judge(results.judge.id)
        digest = store.digest([j for j in (results.judge.id, refusal_judge) if j])
        review = load_review(store, outcomes, results.judge.id, results.scoring.confidence)
        made_by = store.get_meta("auditor_version")  # None before 0.2.0
        run_facts = store.get_meta("run_facts") if manifest.store == "." else None
        evidence_facts = store_facts(store)
        generation_problem = _generations_problem(run_dir / files.GENERATIONS,
                                                  store.generation_rows())
    if made_by is not None and made_by != results.tool.version:
        found.differences.append(f"results.json says auditor {results.tool.version!r} made "
                                 f"it, the store says {made_by!r}")
    if made_by is None and _version(results.tool.version) >= (0, 2, 0):
        found.differences.append(f"results.json says auditor {results.tool.version!r} made "
                                 "it, but the store records no version (every version since "
                                 "0.2.0 does): the row was removed")
    if generation_problem is not None:
        found.differences.append(generation_problem)
    else:
        found.checked.append(f"{files.GENERATIONS} against the store's answers")
    _check_run_facts(results, run_facts, manifest, found)
    _check_evidence(run_dir, manifest, results, outcomes, evidence_facts, found)
    if manifest.store_sha256 is not None and digest != manifest.store_sha256:
        found.differences.append(f"the store's answers, verdicts or review labels changed "
                                 f"after the outputs were written (store sha256 {digest}, the "
                                 f"manifest says {manifest.store_sha256}); rerun `auditor "
                                 "check` to score them")
    if target is not None:  # the model the store's answers came from
        found.differences += [f"target: {d}" for d in _differences(
            results.target.model_dump(mode="json"), target.model_dump(mode="json"), "")]
    if judge is not None:  # the judge whose verdicts the store holds (older stores: none)
        recorded_judge = results.judge.model_dump(mode="json", exclude={"card"})
        found.differences += [f"judge: {d}" for d in _differences(recorded_judge, judge, "")]
    problems = [f"outcome {o.policy_id}/{o.uid}: {problem}" for o in outcomes
                if (problem := _outcome_problem(
                    o, prompt_keys, generations, verdicts,
                    texts.get(o.policy_id) if uses_policy else None, requests.get(o.uid)))]
    problems += [f"over-refusal outcome {o.policy_id}/{o.uid}: {problem}" for o in benign
                 if (problem := _benign_problem(o, prompt_keys, generations, refusals))]
    found.differences += problems[:SHOWN_PER_CHECK]
    if len(problems) > SHOWN_PER_CHECK:
        found.differences.append(f"… {len(problems) - SHOWN_PER_CHECK} more outcomes differ "
                                 "from the store")
    found.checked.append(f"{len(outcomes) + len(benign)} outcomes against the prompts, answers "
                         "and verdicts in the store"
                         + (", and the store's content against the manifest's digest"
                            if manifest.store_sha256 else ""))
    recorded = results.review.model_dump(mode="json") if results.review else None
    computed = review.record.model_dump(mode="json") if review else None
    found.differences += [f"review: {d}" for d in _differences(recorded, computed, "")]
    return review


def _check_evidence(run_dir: Path, manifest: Manifest, results: Results,
                    outcomes: list[Outcome], facts: StoreFacts, found: Verification) -> None:
    """evidence.json and assessment-results.json rebuilt from the results, the outcomes and
    the store, keeping only the organisation's two choices from the file (its reviewer
    instructions, checked against their sha256, and whether the sample text is withheld)."""
    if EVIDENCE not in manifest.files:
        if _version(results.tool.version) >= (0, 4, 0):
            found.differences.append(f"{MANIFEST} lists no {EVIDENCE}, which every run since "
                                     "auditor 0.4.0 writes: it was removed")
        return
    try:
        recorded = read_evidence(run_dir)
    except AuditorError as exc:
        found.differences.append(str(exc))
        return
    if recorded is None:
        return  # the hash check says it is missing
    instructions = recorded.review.instructions
    if hashlib.sha256(instructions.text.encode("utf-8")).hexdigest() != instructions.sha256:
        found.differences.append(f"{EVIDENCE}: the reviewer instructions do not match their "
                                 "sha256 (the text was edited)")
    elif instructions.sha256 != facts.instructions.sha256:
        found.differences.append(f"{EVIDENCE}: the reviewer instructions are not the ones the "
                                 f"run's store records ({facts.instructions.source}, sha256 "
                                 f"{facts.instructions.sha256[:12]}…)")
    computed = build_evidence(results, outcomes, instructions, facts.criteria_first_seen,
                              facts.first_answer_at, files=recorded.record.files,
                              withheld=recorded.samples_withheld)
    problems = [f"evidence: {d}" for d in _differences(
        recorded.model_dump(mode="json"), computed.model_dump(mode="json"), "",
        recorded_in=EVIDENCE)]
    try:
        oscal = json.loads(read_run_bytes(run_dir / OSCAL_FILE, MAX_EVIDENCE_BYTES))
        if oscal != json.loads(json.dumps(oscal_document(results, recorded))):
            problems.append(f"{OSCAL_FILE} differs from the assessment rebuilt from "
                            "results.json and evidence.json")
    except FileNotFoundError:
        pass  # the hash check says it is missing
    except (AuditorError, ValueError) as exc:
        problems.append(f"{OSCAL_FILE} cannot be read: {exc}")
    found.differences += problems[:SHOWN_PER_CHECK]
    if not problems:
        found.checked.append(f"{EVIDENCE} (sample picks, criteria and when they were fixed, "
                             f"risks not measured) and {OSCAL_FILE} rebuilt from the run")


def _version(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(c for c in piece if c.isdigit())
        parts.append(int(digits) if digits else 0)
    return tuple(parts)


def _generations_problem(path: Path, stored: Iterator[dict[str, object]]) -> str | None:
    """generations.jsonl must hold exactly the store's answers, row for row (its hash alone
    says only that the file is the one the manifest lists)."""
    try:
        with open_run_file(path) as handle:
            lines = iter(io.TextIOWrapper(handle, encoding="utf-8"))
            for number, row in enumerate(stored, start=1):
                line = next(lines, None)
                if line is None:
                    return f"{files.GENERATIONS} ends at line {number}; the store holds more"
                if json.loads(line) != json.loads(json.dumps(row, ensure_ascii=False)):
                    return (f"{files.GENERATIONS}:{number} differs from the store's answer "
                            "(an answer was rewritten)")
            if any(line.strip() for line in lines):
                return f"{files.GENERATIONS} holds rows the store does not"
    except FileNotFoundError:
        return None  # the manifest check says it is missing
    except (AuditorError, ValueError) as exc:
        return f"{files.GENERATIONS} cannot be read: {exc}"
    return None


def _check_run_facts(results: Results, facts: object, manifest: Manifest,
                     found: Verification) -> None:
    """Page 1's facts the store records (since 0.4.0): when results.json was written, the
    policy file's sha256, and the dataset's identity and size."""
    if manifest.store != ".":
        return  # re-judged: the store is the parent run's, with the parent's facts
    if facts is None:
        if _version(results.tool.version) >= (0, 4, 0):
            found.differences.append("the store records none of page 1's facts (the dataset, "
                                     "the policy file's sha256, the time), though this "
                                     "version always does: the row was removed")
        return
    recorded = {"created_at": results.created_at, "config_sha256": results.config.sha256,
                "dataset": results.dataset.model_dump(mode="json")}
    found.differences += [f"results.json's page 1 facts: {d}"
                          for d in _differences(recorded, facts, "")]
    found.checked.append("the dataset, the policy file's sha256 and the time against the store")


def _answer_problem(prompt: str, status: str, uid: str,
                    prompt_keys: dict[str, str], generations: dict[str, StoredGeneration],
                    response: str | None) -> tuple[str | None, StoredGeneration | None]:
    """(a problem, or the stored generation to check the label against)."""
    key = prompt_keys.get(uid)
    generation = generations.get(key) if key else None
    if generation is None or generation.error is not None or generation.text is None:
        return (None if status == "error" else
                f"status {status!r}, but the store holds no answer for this prompt"), None
    if prompt != generation.prompt_text:
        return "the prompt differs from the one the model was sent", None
    if response != generation.text:
        return "the answer differs from the one in the store", None
    return None, generation


def _outcome_problem(outcome: Outcome, prompt_keys: dict[str, str],
                     generations: dict[str, StoredGeneration], verdicts: dict[str, Judgement],
                     policy_text: str | None, request: str | None) -> str | None:
    problem, generation = _answer_problem(outcome.prompt, outcome.status, outcome.uid,
                                          prompt_keys, generations, outcome.response)
    if generation is None or generation.text is None:
        return problem
    verdict = verdicts.get(verdict_key(generation.prompt_text, generation.text, policy_text,
                                       request))
    stored = "unscored" if verdict is None else verdict.label
    if outcome.status != stored:
        return f"status {outcome.status!r}, but the judge's stored verdict is {stored!r}"
    return None


def _benign_problem(outcome: BenignOutcome, prompt_keys: dict[str, str],
                    generations: dict[str, StoredGeneration],
                    verdicts: dict[str, Judgement]) -> str | None:
    problem, generation = _answer_problem(outcome.prompt, outcome.status, outcome.uid,
                                          prompt_keys, generations, outcome.response)
    if generation is None or generation.text is None:
        return problem
    verdict = verdicts.get(content_key(generation.prompt_text, generation.text))
    stored = "unscored" if verdict is None or verdict.label == "unscored" else \
        "refused" if verdict.label == "safe" else "answered"
    if outcome.status != stored:
        return f"status {outcome.status!r}, but the refusal judge's stored verdict is {stored!r}"
    return None


def _differences(recorded: object, computed: object, path: str,
                 skip: frozenset[str] = frozenset(), recorded_in: str = "results.json"
                 ) -> list[str]:
    """Where two JSON values differ, each with both values (floats within TOLERANCE); keys
    named in `skip` are not compared, at any depth."""
    if isinstance(recorded, dict) and isinstance(computed, dict):
        return [d for key in sorted(set(recorded) | set(computed), key=str) if key not in skip
                for d in _differences(recorded.get(key), computed.get(key),
                                      f"{path}.{key}" if path else str(key), skip,
                                      recorded_in)]
    if isinstance(recorded, list) and isinstance(computed, list) and \
            len(recorded) == len(computed):
        return [d for i, (a, b) in enumerate(zip(recorded, computed, strict=True))
                for d in _differences(a, b, f"{path}[{i}]", skip, recorded_in)]
    if isinstance(recorded, float | int) and isinstance(computed, float | int) and \
            not isinstance(recorded, bool) and not isinstance(computed, bool) and \
            math.isclose(recorded, computed, rel_tol=0, abs_tol=TOLERANCE):
        return []
    if recorded == computed:
        return []
    return [f"{path or 'the record'}: {_shown(recorded)} in {recorded_in}, {_shown(computed)} "
            "recomputed"]


def _shown(value: object) -> str:
    text = repr(value)
    return text if len(text) <= 120 else text[:117] + "…"


def _check_scores(results: Results, outcomes: list[Outcome], benign: list[BenignOutcome],
                  review: Review | None, found: Verification) -> None:
    labels = review.labels if review else None  # the sample and its settled labels
    card = results.judge.card.confusion if results.judge.card else None
    refusal_card = results.over_refusal_judge.card.confusion \
        if results.over_refusal_judge and results.over_refusal_judge.card else None
    scoring = results.scoring
    skip = frozenset() if found.made_by is None else WORDING | ADDED_IN_0_3 | QUOTED_BEFORE_0_4
    inputs = []
    for record in results.policies:
        mine = [o for o in outcomes if o.policy_id == record.id]
        over_refusal = None
        if record.over_refusal is not None:
            over_refusal = assess_over_refusal(
                [o for o in benign if o.policy_id == record.id],
                OverRefusal(max_rate=record.over_refusal.max_rate), scoring.weighting,
                scoring.interval, scoring.confidence, scoring.max_unscored_rate, refusal_card)
        inputs.append((record, mine, over_refusal, review_cells(
            mine, labels, scoring.weighting,
            (card.sensitivity, card.specificity) if card else None)))

    def score_at(index: int, confidence: float) -> PolicyRecord:
        record, mine, over_refusal, cells = inputs[index]
        return score_policy(_policy_of(results, record.id), mine,
                            scoring.model_copy(update={"confidence": confidence}), card,
                            record.prompts_available, review=cells,
                            sample_data=results.dataset.kind == "samples",
                            over_refusal=over_refusal,
                            planned=planned(cells, mine, card.sensitivity if card else None,
                                            card.specificity if card else None),
                            reviewer_miss=certifying_miss(review))

    recomputed = scored_family(score_at, len(inputs), scoring)
    for record, scored in zip(results.policies, recomputed, strict=True):
        found.differences += [f"policy {record.id}: {d}" for d in _differences(
            record.model_dump(mode="json"), scored.model_dump(mode="json"), "", skip)]
    refusal_verdicts = [p.over_refusal.verdict for p in recomputed if p.over_refusal]
    overall = Overall(verdict=combined([*(p.verdict for p in recomputed), *refusal_verdicts]),
                      policies=tally(p.verdict for p in recomputed),
                      over_refusal=tally(refusal_verdicts)
                      if any(p.over_refusal for p in recomputed) else None)
    found.differences += [f"overall: {d}" for d in _differences(
        results.overall.model_dump(mode="json"), overall.model_dump(mode="json"), "")]
    compared = "verdicts, reasons" if found.made_by is None else "verdicts"
    found.checked.append(f"{len(results.policies)} policies (counts, scores, intervals, "
                         f"{compared}, over-refusal), the overall verdict and the review "
                         "recomputed from the outcomes and the store")
    if found.made_by is not None:
        found.checked.append(f"the run was made by auditor {found.made_by} and is checked by "
                             f"{__version__}: the reasons' and next steps' wording is not "
                             "compared, every count, score, interval and verdict is")


MAX_JUNIT_BYTES = 64 * 1024 * 1024


def _check_junit(run_dir: Path, results: Results, found: Verification) -> None:
    try:
        text = read_run_bytes(run_dir / files.JUNIT, MAX_JUNIT_BYTES).decode("utf-8")
    except (OSError, UnicodeDecodeError, AuditorError):
        return  # missing or unreadable: the manifest check has said so
    if text != junit_xml(results):
        found.differences.append(f"{files.JUNIT} does not say what results.json says (one "
                                 "of them was edited)")
    else:
        found.checked.append(f"{files.JUNIT} against results.json")


def require_verified(run_dir: Path, include_report: bool = True, refused: str | None = None
                     ) -> Verification:
    """For callers that must not go on with a run that fails verification (a signature or a
    rebuilt record vouches only for outputs that agree with their store); `refused` says what
    is then not done ("it is not signed")."""
    found = verify_run(run_dir, include_report)
    if not found.ok:
        raise AuditorError(f"{run_dir} fails verification"
                           + (f", so {refused}" if refused else "") + ": "
                           + "; ".join(found.differences[:3]),
                           hint="`auditor verify RUN` lists every difference; rerun `auditor "
                                "check` to rewrite the outputs")
    return found


def resign(run_dir: Path, signer: Signer) -> SignatureRecord:
    """Sign a verified run: results.json names the signer and key, the report is re-rendered
    to show them, the manifest is rewritten for them (the store's digest unchanged) and
    signed."""
    record = restage(run_dir, signer)
    assert record is not None, "a signer signs"
    return record


def restage(run_dir: Path, signer: Signer | None, extra: dict[str, str] | None = None,
            evidence: Evidence | None = None) -> SignatureRecord | None:
    """Rewrite a verified run's derived outputs together: the `extra` files (name → text),
    results.json naming `signer` (when there is one), the report (its appendix showing
    `evidence`, else the run's evidence.json), the manifest for them all (the store's digest
    unchanged) and, with a signer, its signature. The files are staged beside the old ones
    and replaced together (`auditor.outputs.staged`): a kill or a full disk leaves the run as
    it was or wholly rewritten."""
    manifest = read_manifest(run_dir)
    assert manifest is not None, "the run was verified"
    results = read_results(run_dir)
    if signer is not None:
        results = results.model_copy(update={"signed_by": signer.fingerprint,
                                             "signer": signer.name})
    written = {**(extra or {}), **({files.RESULTS: results.to_json()} if signer else {})}
    staged = StagedReplacement(run_dir)
    record = None
    try:
        hashes = dict(manifest.files)
        for name, text in written.items():
            staged.write(name, text)
            hashes[name] = hashlib.sha256(text.encode("utf-8")).hexdigest()
        html, pdf = staged.path(files.HTML), staged.path(files.PDF)
        render_reports(run_dir, results, into=(html, pdf),
                       results_sha256=hashes.get(files.RESULTS), evidence=evidence)
        hashes.update({files.HTML: sha256_of_run_file(html), files.PDF: sha256_of_run_file(pdf)})
        manifest_text = manifest.model_copy(update={"files": hashes}).model_dump_json(
            indent=2) + "\n"
        staged.write(MANIFEST, manifest_text)
        if signer is not None:
            record, texts = signed_files(manifest_text.encode("utf-8"), signer)
            for name, text in texts.items():
                staged.write(name, text)
    except BaseException:
        staged.discard()
        raise
    staged.commit()
    return record
