"""TF-IDF "views" of an answer (its opening, its whole text, …) shared by the packaged judges:
how one is built, and how its vocabulary and IDF weights go to and from JSON (never pickle).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Self, TypedDict

import numpy as np

from auditor.judges.refusal_text import TOKEN_PATTERN, normalise

# (name, characters of the answer it reads (0 = all), n-gram range)
View = tuple[str, int, tuple[int, int]]


def vectorizer(ngram_range: tuple[int, int]) -> Any:
    from sklearn.feature_extraction.text import TfidfVectorizer

    return TfidfVectorizer(ngram_range=ngram_range, min_df=2, sublinear_tf=True,
                           token_pattern=TOKEN_PATTERN, preprocessor=normalise)


def view_texts(texts: list[str], chars: int) -> list[str]:
    return [t[:chars] if chars else t for t in texts]


class StoredView(TypedDict):
    """One text view's vectoriser, as a model file stores it."""

    name: str
    chars: int
    ngram_range: list[int]
    vocabulary: list[str]
    idf: list[float]


def views_to_json(vectorizers: list[Any], views: tuple[View, ...]) -> list[StoredView]:
    out = []
    for vec, (name, chars, ngrams) in zip(vectorizers, views, strict=True):
        vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
        out.append(StoredView(name=name, chars=chars, ngram_range=list(ngrams),
                              vocabulary=vocab, idf=[round(float(x), 6) for x in vec.idf_]))
    return out


def views_from_json(stored: list[StoredView], views: tuple[View, ...]) -> list[Any]:
    vectorizers = []
    for view, (name, _, ngrams) in zip(stored, views, strict=True):
        if view["name"] != name:
            raise ValueError(f"unexpected view {view['name']!r}")
        vec = vectorizer(ngrams)
        vec.vocabulary_ = {term: i for i, term in enumerate(view["vocabulary"])}
        vec.idf_ = np.asarray(view["idf"], dtype=np.float64)
        vectorizers.append(vec)
    return vectorizers


def read_format(text: str, name: str, version: int) -> dict[str, Any]:
    """A packaged model file's JSON, refused unless it is `name` at `version`."""
    data: dict[str, Any] = json.loads(text)  # a model file's JSON, checked field by field
    if data.get("format") != name or data.get("format_version") != version:
        raise ValueError(f"not an {name} v{version} file")
    return data


class ModelFile:
    """Saving and loading for a model that turns itself to and from JSON text."""

    def to_json(self) -> str:
        raise NotImplementedError

    @classmethod
    def from_json(cls, text: str) -> Self:
        raise NotImplementedError

    def save(self, path: Path) -> None:
        path.write_text(self.to_json(), encoding="utf-8")

    @classmethod
    def load(cls, path: Path) -> Self:
        return cls.from_json(path.read_text(encoding="utf-8"))
