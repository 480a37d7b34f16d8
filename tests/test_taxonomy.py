from __future__ import annotations

import pytest

from auditor.core import taxonomy


def test_sizes_match_alert() -> None:
    assert len(taxonomy.MACRO) == 6
    assert len(taxonomy.MICRO) == 32
    assert sum(len(m.micro_labels) for m in taxonomy.MACRO.values()) == 32


def test_exact_dataset_labels_kept_with_misspellings() -> None:
    for label in ("crime_kidnapp", "sex_harrasment", "hate_lgbtq+", "self_harm_thin"):
        assert label in taxonomy.MICRO


@pytest.mark.parametrize(("alias", "label"), [
    ("sex_harassment", "sex_harrasment"),
    ("crime_kidnapping", "crime_kidnapp"),
    ("hate_lgbtq", "hate_lgbtq+"),
])
def test_aliases(alias: str, label: str) -> None:
    assert taxonomy.resolve(alias) == (label,)


def test_macro_expands() -> None:
    assert taxonomy.resolve("weapon") == ("weapon_firearm", "weapon_chemical",
                                          "weapon_biological", "weapon_radioactive",
                                          "weapon_other")
    assert taxonomy.resolve("Suicide & Self-Harm") == taxonomy.MACRO["self_harm"].micro_labels


def test_unknown_suggests() -> None:
    with pytest.raises(taxonomy.UnknownCategory) as info:
        taxonomy.resolve("crime_cyebr")
    assert info.value.suggestions[0] == "crime_cyber"


def test_every_category_described() -> None:
    for micro in taxonomy.MICRO.values():
        assert micro.display_name and micro.description.endswith(".")
