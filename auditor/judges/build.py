"""Building the audit's judges, in one place: the judge a policy names, with the card its scores
are corrected with (the policy's card file, checked against the judge, else the card the judge
ships with), and the refusal judge that measures over-refusal."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from auditor.config.policy import JudgeConfig
from auditor.config.registry import JUDGES
from auditor.core.errors import JudgeError
from auditor.core.identity import JudgeCard
from auditor.core.registry import load
from auditor.judges.cards import checked_card, read_card, resolve_card_path
from auditor.judges.interface import Judge


def make_judge(config: JudgeConfig, base_dir: Path | None = None) -> Judge:
    """The judge `config.kind` names (an unknown kind is an error, never a fallback)."""
    kind = JUDGES.get(config.kind)
    factory = load(kind.factory) if isinstance(kind.factory, str) else kind.factory
    assert callable(factory)
    judge = factory(config, base_dir)
    if not isinstance(judge, Judge):
        raise JudgeError(f"the {kind.name} judge's factory made a {type(judge).__name__}, "
                         "not a Judge")
    return judge


@dataclass
class JudgeWithCard:
    """A judge and the card that corrects its scores (None: the scores stay raw)."""

    judge: Judge
    card: JudgeCard | None


def build_judge(config: JudgeConfig, base_dir: Path, card_path: Path | None = None,
                force_card: bool = False) -> JudgeWithCard:
    """The policy's judge and its card. `card_path` (a command-line --card) wins over the
    policy's `judge.card`; without either, the card the judge ships with is used. A card
    measured on another judge is an error unless forced."""
    judge = make_judge(config, base_dir)
    if card_path is None and config.card:
        card_path = resolve_card_path(config.card, base_dir)
    if card_path is None:
        return JudgeWithCard(judge, judge.card())
    return JudgeWithCard(judge, checked_card(read_card(card_path), judge,
                                             force_card or config.force_card))


def build_refusal_judge(config: JudgeConfig, base_dir: Path) -> JudgeWithCard:
    """The judge of the answers to benign prompts, with its card measured on answers to safe
    prompts. A policy judged by a refusal model of its own uses that model here too; otherwise
    the packaged refusal judge."""
    from auditor.judges.refusal import RefusalJudge

    own = config if config.kind == "refusal" and config.model_file else JudgeConfig(
        kind="refusal")
    judge = make_judge(own, base_dir)
    assert isinstance(judge, RefusalJudge)
    return JudgeWithCard(judge, judge.over_refusal_card())
