"""The report's evidence appendix: the template's variables for the evidence pages and for
one "How this report answers …" page per framework (plain values: Jinja's boundary)."""

from __future__ import annotations

from typing import Any

from auditor.core import taxonomy
from auditor.outputs.evidence.crosswalk import load_crosswalk
from auditor.outputs.evidence.pack import clause_statuses
from auditor.outputs.evidence.record import Evidence
from auditor.outputs.records import Results

STATE_WORDS = {"answered": "answered", "empty": "not in this run",
               "not addressed": "not addressed by a run"}


def appendix_context(results: Results, evidence: Evidence | None) -> dict[str, Any]:
    if evidence is None:  # a run made before the evidence pack
        return {"evidence": None, "frameworks": []}
    statuses = clause_statuses(results, evidence)
    frameworks = []
    for framework in load_crosswalk().frameworks:
        frameworks.append({
            "name": framework.name, "edition": framework.edition, "source": framework.source,
            "rows": [{"id": s.clause.id, "title": s.clause.title, "asks": s.clause.asks,
                      "state": STATE_WORDS[s.state], "answered": s.state == "answered",
                      "says": s.says}
                     for s in statuses if s.clause.framework == framework.id]})
    data = evidence.model_dump(mode="json")
    data["not_measured"]["category_names"] = [
        f"{label} ({taxonomy.MICRO[label].display_name})" for label in evidence.not_measured.categories]
    return {"evidence": data, "frameworks": frameworks}
