"""TF-IDF "views" of an answer (its opening, its whole text, …) shared by the packaged judges:
how one is built, and how its vocabulary and IDF weights go to and from JSON (never pickle).
"""

from __future__ import annotations

from typing import Any

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


def views_to_json(vectorizers: list[Any], views: tuple[View, ...]) -> list[dict[str, Any]]:
    out = []
    for vec, (name, chars, ngrams) in zip(vectorizers, views, strict=True):
        vocab = sorted(vec.vocabulary_, key=vec.vocabulary_.get)
        out.append({"name": name, "chars": chars, "ngram_range": list(ngrams),
                    "vocabulary": vocab, "idf": [round(float(x), 6) for x in vec.idf_]})
    return out


def views_from_json(stored: list[dict[str, Any]], views: tuple[View, ...]) -> list[Any]:
    vectorizers = []
    for view, (name, _, ngrams) in zip(stored, views, strict=True):
        if view["name"] != name:
            raise ValueError(f"unexpected view {view['name']!r}")
        vec = vectorizer(ngrams)
        vec.vocabulary_ = {term: i for i, term in enumerate(view["vocabulary"])}
        vec.idf_ = np.asarray(view["idf"], dtype=np.float64)
        vectorizers.append(vec)
    return vectorizers
