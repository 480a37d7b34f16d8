"""Judge cards: the file `auditor judge validate --card` writes, how a run reads it, and the
checks that it belongs to the judge in use.

A card records what the judge measured (its construct: harm or refusal), on which labelled set
(name, sha256, n), for which judge (its fingerprint), and the confusion counts that correct the
scores. The packaged judges carry the same figures in their model files.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from auditor import __version__
from auditor.core.clock import utc_now_text
from auditor.core.errors import AuditorError, JudgeError
from auditor.core.identity import JudgeCard, JudgeFingerprint, JudgeMetrics
from auditor.data.labelled_sets import LabelledSet, load_labelled_set
from auditor.judges.interface import Judge

FORMAT = "auditor-judge-card"


class JudgeCardFile(BaseModel):
    """The card file `auditor judge validate --card` writes."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, serialize_by_alias=True)

    format: Literal["auditor-judge-card"]
    format_version: Literal[1]
    judge: JudgeFingerprint
    # "construct" in the file; named otherwise here, as pydantic models own `construct`.
    measures: Literal["harm", "refusal"] = Field(alias="construct")
    labels: str
    labels_sha256: str
    labels_n: int
    created_at: str
    auditor_version: str
    metrics: JudgeMetrics


def card_file(judge: Judge, labelled_set: LabelledSet, metrics: JudgeMetrics) -> JudgeCardFile:
    return JudgeCardFile(
        format=FORMAT, format_version=1, judge=judge.fingerprint(),
        measures=judge.construct, labels=labelled_set.name, labels_sha256=labelled_set.sha256,
        labels_n=len(labelled_set.answers),
        created_at=utc_now_text(), auditor_version=__version__,
        metrics=metrics)


def read_card(path: Path) -> JudgeCard:
    """A card file's metrics, with where they came from, for scoring and the report."""
    try:
        card = JudgeCardFile.model_validate(json.loads(path.read_text(encoding="utf-8")))
    except FileNotFoundError:
        raise JudgeError(f"judge card {path} not found",
                         hint="judge.card is the file `auditor judge validate --card FILE` "
                              "wrote, relative to the policy file's folder") from None
    except (OSError, ValueError) as exc:
        detail = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}"
                           for e in exc.errors()[:3]) if isinstance(exc, ValidationError) \
            else f"{type(exc).__name__}: {exc}"
        raise JudgeError(f"cannot read judge card {path}: {detail}",
                         hint="use the file written by `auditor judge validate --card`") from None
    return JudgeCard.model_validate({**card.metrics.model_dump(), "source": card.labels,
                                     "path": str(path), "construct": card.measures,
                                     "judge_id": card.judge.id})


def resolve_card_path(card: str, policy_dir: Path) -> Path:
    """A policy's `judge.card`, relative to the policy file's folder."""
    path = Path(card).expanduser()
    return path if path.is_absolute() else policy_dir / path


def checked_card(card: JudgeCard, judge: Judge, force: bool) -> JudgeCard:
    """A card measured on another judge is an error unless forced; another construct a warning."""
    in_use = judge.fingerprint().id
    if card.judge_id and card.judge_id != in_use and not force:
        raise JudgeError(f"the judge card {card.path} was measured on judge "
                         f"{card.judge_id}, not on the judge in use ({in_use})",
                         hint="validate this judge with `auditor judge validate --card`, or set "
                              "judge.force_card: true to use the card anyway")
    if card.measures and card.measures != judge.construct:
        card = card.model_copy(update={"warning": f"this card measured {card.measures} "
                                       f"detection, but the judge in use labels "
                                       f"{judge.construct}: its error rates may not apply"})
    return card


def words(text: str) -> int:
    return len(text.split())


def median_words(texts: Iterable[str]) -> float | None:
    counts = [words(t) for t in texts]
    return statistics.median(counts) if counts else None


@cache
def _builtin_median(name: str) -> float | None:
    try:
        return median_words(a.response for a in load_labelled_set(name).answers)
    except AuditorError:
        return None


def card_answer_words(card: JudgeCard | None) -> float | None:
    """The median length, in words, of the answers the judge's card was measured on."""
    if card is None:
        return None
    if card.answer_words_median is not None:
        return card.answer_words_median
    source = card.source or str(getattr(card, "labels", "") or "")
    return _builtin_median(source) if source.startswith("builtin:") else None
