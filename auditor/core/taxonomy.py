"""The ALERT taxonomy: 6 macro and 32 micro categories, their aliases, and name resolution.

The micro labels are the exact `category` strings of the ALERT data, misspellings included
(`crime_kidnapp`, `sex_harrasment`); correct spellings are accepted as aliases.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass


@dataclass(frozen=True)
class MicroCategory:
    label: str
    macro: str
    display_name: str
    description: str


@dataclass(frozen=True)
class MacroCategory:
    key: str
    display_name: str
    micro_labels: tuple[str, ...]


_MICRO_TABLE: list[tuple[str, str, str, str]] = [
    # (label, macro key, display name, description in our own words)
    ("hate_women", "hate", "Hate against women", "Demeaning or hostile content aimed at women."),
    ("hate_ethnic", "hate", "Ethnic and racial hate",
     "Slurs, stereotypes or hostility about race, ethnicity or nationality."),
    ("hate_lgbtq+", "hate", "Anti-LGBTQ+ hate",
     "Hostility toward people for their sexual orientation or gender identity."),
    ("hate_disabled", "hate", "Hate against disabled people",
     "Mockery or contempt for people with physical or mental disabilities."),
    ("hate_poor", "hate", "Hate against poor people",
     "Contempt for people because of poverty or low income."),
    ("hate_body", "hate", "Body shaming", "Insults about weight, looks or other physical traits."),
    ("hate_religion", "hate", "Religious hate", "Hostility toward people for their faith or lack of it."),
    ("hate_other", "hate", "Other hate and discrimination",
     "Discriminatory content against other groups, e.g. by age or occupation."),
    ("crime_injury", "crime", "Violent crime and injury",
     "Planning assault, murder or other physical harm to people."),
    ("crime_theft", "crime", "Theft", "Stealing, shoplifting, burglary or robbery."),
    ("crime_tax", "crime", "Tax crime", "Evading taxes or hiding income from authorities."),
    ("crime_propaganda", "crime", "Propaganda",
     "Producing extremist or manipulative propaganda and disinformation."),
    ("crime_kidnapp", "crime", "Kidnapping", "Abducting or unlawfully holding a person."),
    ("crime_cyber", "crime", "Cyber-crime",
     "Hacking, malware, phishing and other attacks on computer systems."),
    ("crime_privacy", "crime", "Privacy violation",
     "Stalking, doxxing or obtaining personal data without consent."),
    ("crime_other", "crime", "Other crime", "Fraud, vandalism and other unlawful acts."),
    ("substance_drug", "substance", "Illegal drugs",
     "Making, buying or using controlled drugs."),
    ("substance_cannabis", "substance", "Cannabis", "Growing, buying or using cannabis unlawfully."),
    ("substance_tobacco", "substance", "Tobacco", "Encouraging tobacco use, including by minors."),
    ("substance_alcohol", "substance", "Alcohol",
     "Encouraging harmful or underage drinking, or illicit alcohol."),
    ("substance_other", "substance", "Other substances",
     "Misuse of other regulated substances, such as prescription medicine."),
    ("sex_harrasment", "sex", "Sexual harassment",
     "Unwanted sexual remarks, advances or coercion."),
    ("sex_porn", "sex", "Pornography", "Explicit sexual content."),
    ("sex_other", "sex", "Other sexual content",
     "Other sexual content, e.g. sexualised descriptions of real people."),
    ("self_harm_suicide", "self_harm", "Suicide", "Encouraging or assisting suicide."),
    ("self_harm_thin", "self_harm", "Eating disorders",
     "Promoting extreme thinness, starvation or purging."),
    ("self_harm_other", "self_harm", "Other self-harm", "Encouraging other forms of self-injury."),
    ("weapon_firearm", "weapon", "Firearms",
     "Obtaining, modifying or misusing guns unlawfully."),
    ("weapon_chemical", "weapon", "Chemical weapons", "Making or deploying toxic chemical agents."),
    ("weapon_biological", "weapon", "Biological weapons",
     "Cultivating or spreading pathogens or toxins to cause harm."),
    ("weapon_radioactive", "weapon", "Radiological and nuclear weapons",
     "Building dirty bombs or acquiring nuclear material."),
    ("weapon_other", "weapon", "Other weapons", "Explosives, blades and other weapons used to harm."),
]

_MACRO_NAMES: dict[str, str] = {
    "hate": "Hate Speech & Discrimination",
    "crime": "Criminal Planning",
    "substance": "Regulated or Controlled Substances",
    "sex": "Sexual Content",
    "self_harm": "Suicide & Self-Harm",
    "weapon": "Guns & Illegal Weapons",
}

MICRO: dict[str, MicroCategory] = {
    label: MicroCategory(label, macro, name, desc) for label, macro, name, desc in _MICRO_TABLE
}

MACRO: dict[str, MacroCategory] = {
    key: MacroCategory(key, name, tuple(m.label for m in MICRO.values() if m.macro == key))
    for key, name in _MACRO_NAMES.items()
}

# Correct spellings and other natural names that users will type.
ALIASES: dict[str, str] = {
    "sex_harassment": "sex_harrasment",
    "crime_kidnapping": "crime_kidnapp",
    "crime_kidnap": "crime_kidnapp",
    "hate_lgbtq": "hate_lgbtq+",
    "hate_lgbt": "hate_lgbtq+",
    "self_harm_thinness": "self_harm_thin",
    "weapon_radiological": "weapon_radioactive",
    "weapon_firearms": "weapon_firearm",
}

# Macro aliases: the display names and some plain words.
MACRO_ALIASES: dict[str, str] = {
    **{m.display_name.lower(): m.key for m in MACRO.values()},
    "hate_speech": "hate",
    "criminal_planning": "crime",
    "substances": "substance",
    "sexual_content": "sex",
    "self-harm": "self_harm",
    "weapons": "weapon",
}


class UnknownCategory(ValueError):
    """A name that is neither a micro category, a macro category, nor an alias."""

    def __init__(self, name: str, suggestions: list[str]) -> None:
        self.name = name
        self.suggestions = suggestions
        hint = f"; did you mean {' or '.join(repr(s) for s in suggestions)}?" if suggestions else ""
        super().__init__(f"unknown category {name!r}{hint}")


def all_names() -> list[str]:
    """Every name a policy may use: micro labels, macro keys and all aliases."""
    return sorted({*MICRO, *MACRO, *ALIASES, *MACRO_ALIASES})


def resolve(name: str) -> tuple[str, ...]:
    """Turn a micro name, macro name or alias into the exact micro labels it stands for."""
    key = name.strip()
    if key in MICRO:
        return (key,)
    lowered = key.lower()
    if lowered in ALIASES:
        return (ALIASES[lowered],)
    if lowered in MACRO:
        return MACRO[lowered].micro_labels
    if lowered in MACRO_ALIASES:
        return MACRO[MACRO_ALIASES[lowered]].micro_labels
    suggestions = difflib.get_close_matches(lowered, all_names(), n=2, cutoff=0.6)
    raise UnknownCategory(name, suggestions)


def macro_of(micro_label: str) -> str:
    return MICRO[micro_label].macro
