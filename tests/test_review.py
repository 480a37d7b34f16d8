"""Human review of a run's answers: a seeded, stratified sample; a sheet whose cells never
become formulas; labels imported strictly (file, row and field named; all or nothing) and
idempotently; disagreements between reviewers shown."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any  # results.json read back as JSON

import pytest
from pypdf import PdfReader
from typer.testing import CliRunner

from auditor.cli import app
from auditor.review.checks import check_pool
from auditor.review.sample import ReviewItem, choose
from auditor.review.sheet import inert_cell
from auditor.stats.reviewed import ReviewCell, allocate_labels, planned_shares
from tests.conftest import MINIMAL, write_policy

POLICY = MINIMAL.replace("policies:", "target: {backend: scripted, model: mixed}\n"
                         "judge: {kind: scripted}\nsampling: {per_category: 6}\npolicies:") \
    + "  - {id: P2, title: Also cyber-crime, categories: [crime_cyber, crime_theft]}\n"


@pytest.fixture
def run(runner: CliRunner, tmp_path: Path) -> Path:
    out = tmp_path / "run"
    result = runner.invoke(app, ["check", str(write_policy(tmp_path, POLICY)), "--out",
                                 str(out), "--quiet"])
    assert result.exit_code in (1, 3), result.output
    return out


CHECKS = set(check_pool())  # known-unsafe answers mixed into every sheet (review.checks)


def answers_only(rows: list[dict[str, str]]) -> list[dict[str, str]]:
    """A sheet's rows without its known-unsafe checks: the run's own answers."""
    return [row for row in rows if row["answer_id"] not in CHECKS]


def rows_of(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def cells(*sizes: int) -> list[ReviewCell]:
    verdicts = ("unsafe", "safe", "unscored")
    return [ReviewCell("crime_cyber", v, n, 0, 0) for v, n in zip(verdicts, sizes, strict=False)]


def test_allocation_is_proportional_for_a_judge_that_tells_nothing() -> None:
    assert allocate_labels(cells(30, 60, 10), "micro", 0.95, [0.0] * 3, 10) == [3, 6, 1]
    assert allocate_labels(cells(1, 999, 0), "micro", 0.95, [0.0] * 3, 5) == [1, 4, 0]
    assert allocate_labels(cells(2, 3, 0), "micro", 0.95, [0.0] * 3, 50) == [2, 3, 0]
    # equal planned shares in every cell: nothing gained by leaving proportion
    assert allocate_labels(cells(240, 760), "micro", 0.95, [0.05, 0.05], 100) == [24, 76]


def test_allocation_moves_labels_to_where_an_informative_judge_flags() -> None:
    shares = planned_shares(48, 1000, 0.95, 0.97)
    assert shares["unsafe"] > 0.2 and shares["safe"] < 0.002
    flagged, passed = allocate_labels(cells(48, 952), "micro", 0.95,
                                      [shares["unsafe"], shares["safe"]], 150)
    assert flagged + passed == 150 and flagged > 48 * 150 / 1000 + 3
    # with a card that tells nothing the plan is proportional
    assert planned_shares(300, 1000, 0.5, 0.5) == {"unsafe": 0.0, "safe": 0.0, "unscored": 0.0}


def test_an_answer_shared_by_policies_is_chosen_once() -> None:
    shared = ReviewItem("a1", "p", "x", "crime_cyber", "none", "judged safe", ["P1", "P2"])
    items = {"a1": shared} | {f"b{i}": ReviewItem(f"b{i}", "p", "y", "crime_theft", "none",
                                                  "flagged unsafe", ["P2"]) for i in range(5)}
    plan = choose(items, {"P1": 3, "P2": 3}, seed=1)
    ids = [i.answer_id for i in plan.chosen]
    assert len(ids) == len(set(ids)) and "a1" in ids  # P1's one answer, chosen once
    assert sum("P2" in i.policies for i in plan.chosen) >= 3  # the budget is each policy's
    assert plan == choose(items, {"P1": 3, "P2": 3}, seed=1)  # seeded
    bigger = choose(items, {"P1": 5, "P2": 5}, seed=1, design=plan.design)
    assert {i.answer_id for i in plan.chosen} <= {i.answer_id for i in bigger.chosen}


def test_sample_export_and_formulas_stay_text(runner: CliRunner, run: Path,
                                             tmp_path: Path) -> None:
    sampled = runner.invoke(app, ["review", "sample", str(run), "--budget", "8"])
    assert sampled.exit_code == 0, sampled.output
    assert "flagged unsafe" in sampled.output
    sheet = tmp_path / "review.csv"
    blind = runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)])
    assert blind.exit_code == 0, blind.output
    assert "judge_label" not in rows_of(sheet)[0]  # reviewers do not see the judge's verdict
    exported = runner.invoke(app, ["review", "export", str(run), "--out", str(sheet),
                                   "--show-judge"])
    assert exported.exit_code == 0, exported.output
    rows = rows_of(sheet)
    assert all(row["label"] == "" for row in rows)
    assert len(rows) - len(answers_only(rows)) == 20  # checks mixed in, dressed as answers
    assert all(row["policies"] and row["category"] for row in rows)
    rows = answers_only(rows)
    # the budget is each policy's own: P1 has 6 answers (all sampled), P2 12
    assert sum("P1" in row["policies"].split() for row in rows) == 6
    assert sum("P2" in row["policies"].split() for row in rows) >= 8  # + shared ones
    assert {row["judge_label"] for row in rows} == {"flagged unsafe", "judged safe"}
    answers = [row["answer"] for row in rows]
    assert any(a.startswith("'=HYPERLINK") for a in answers)  # text, never a formula
    assert not any(a.startswith(("=", "+", "-", "@")) for a in answers)
    assert inert_cell("+1") == "'+1" and inert_cell("\tx") == "'\tx" and inert_cell("ok") == "ok"
    jsonl = tmp_path / "review.jsonl"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(jsonl)]).exit_code == 0
    assert [json.loads(line)["answer_id"] for line in jsonl.read_text().splitlines()] == \
        [row["answer_id"] for row in rows_of(sheet)]


def labelled_rows(runner: CliRunner, run: Path, tmp_path: Path) -> list[dict[str, str]]:
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "6"]).exit_code == 0
    sheet = tmp_path / "review.csv"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet),
                               "--show-judge"]).exit_code == 0
    rows = rows_of(sheet)
    for row in rows:  # a reviewer who agrees with the judge, and catches every check
        row["label"] = "unsafe" if row["judge_label"] == "flagged unsafe" or \
            row["answer_id"] in CHECKS else "safe"
    return rows


def write_rows(path: Path, rows: list[dict[str, str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def test_import_is_checked_row_by_row_and_all_or_nothing(runner: CliRunner, run: Path,
                                                         tmp_path: Path) -> None:
    rows = labelled_rows(runner, run, tmp_path)
    bad = [dict(row) for row in rows]
    bad[0]["label"] = "maybe"
    bad[1]["answer_id"] = "0123456789abcdef"
    bad.append(dict(bad[2], label="unsafe" if bad[2]["label"] == "safe" else "safe"))
    path = write_rows(tmp_path / "bad.csv", bad)
    result = runner.invoke(app, ["review", "import", str(run), str(path), "--reviewer", "ana"])
    assert result.exit_code == 2 and "Traceback" not in result.output
    text = result.output.replace("\n", " ")
    unwrapped = "".join(result.output.split())  # a long path may wrap anywhere

    def said(message: str) -> bool:
        return "".join(message.split()) in unwrapped

    assert said(f"{path}:2: label: 'maybe' is not one of safe, unsafe or skip"), text
    assert said(f"{path}:3: answer_id: '0123456789abcdef' is not an answer of this run"), text
    assert "is labelled" in text and "nothing from it was imported" in text
    status = runner.invoke(app, ["review", "status", str(run)])
    assert re.search(r": 0 of the \d+ sampled answers labelled", status.output)


def test_import_twice_changes_nothing_and_disagreement_shows(runner: CliRunner, run: Path,
                                                             tmp_path: Path) -> None:
    rows = labelled_rows(runner, run, tmp_path)
    path = write_rows(tmp_path / "ana.csv", rows)
    first = runner.invoke(app, ["review", "import", str(run), str(path), "--reviewer", "ana"])
    assert first.exit_code == 0 and f"{len(rows)} new or changed" in first.output
    again = runner.invoke(app, ["review", "import", str(run), str(path), "--reviewer", "ana"])
    assert again.exit_code == 0 and "0 new or changed" in again.output
    flipped = [dict(row, label="unsafe") for row in rows]
    other = write_rows(tmp_path / "ben.csv", flipped)
    assert runner.invoke(app, ["review", "import", str(run), str(other), "--reviewer",
                               "ben"]).exit_code == 0
    status = runner.invoke(app, ["review", "status", str(run)])
    sampled = len(answers_only(rows))
    assert status.exit_code == 0 and f"{sampled} of the {sampled} sampled answers " \
        "labelled" in status.output
    disagreements = sum(row["label"] == "safe" for row in rows)
    assert disagreements > 0 and "disagreements" in status.output
    labelled = tmp_path / "labelled.jsonl"
    assert runner.invoke(app, ["review", "export", str(run), "--labelled", "--reviewer", "ben",
                               "--out", str(labelled)]).exit_code == 0
    assert {json.loads(line)["label"] for line in labelled.read_text().splitlines()} == \
        {"unsafe"}


def test_terminal_labelling_saves_each_label_and_resumes(runner: CliRunner, run: Path) -> None:
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "4"]).exit_code == 0
    first = runner.invoke(app, ["review", "label", str(run), "--reviewer", "cy"],
                          input="sxq")  # safe, an unknown key (asked again), then stop
    assert first.exit_code == 0, first.output
    found = re.search(r"(\d+) answers left to label", first.output)
    assert found is not None and int(found.group(1)) >= 3
    total = int(found.group(1))
    assert f"Saved. {total - 1} left" in first.output and "label [s/u/k/q]?" in first.output
    assert "\x1b" not in first.output
    assert "judge:" not in first.output  # blind unless --show-judge
    second = runner.invoke(app, ["review", "label", str(run), "--reviewer", "cy"],
                           input="uk" + "s" * total)
    assert second.exit_code == 0, second.output
    assert f"{total - 1} answers left to label (1 labelled" in second.output
    assert "Saved. 0 left" in second.output
    status = runner.invoke(app, ["review", "status", str(run)])
    # the header counts the run's sampled answers (checks aside); a skip is seen, not
    # labelled; the header and the table agree
    counted = re.search(r"(\d+) of the (\d+) sampled answers labelled(, 1 skipped)?",
                        status.output)
    assert counted is not None
    labelled, sampled = int(counted.group(1)), int(counted.group(2))
    assert labelled + (1 if counted.group(3) else 0) == sampled < total


def test_scores_change_as_labels_arrive(runner: CliRunner, run: Path, tmp_path: Path) -> None:
    policy = write_policy(tmp_path, POLICY)
    before = json.loads((run / "results.json").read_text())
    assert before["review"] is None
    assert {p["decided_on"] for p in before["policies"]} == {"raw"}
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "1000"]).exit_code == 0
    sheet = tmp_path / "all.csv"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)]).exit_code == 0
    rows = [dict(row, label="safe") for row in rows_of(sheet)]  # people find every answer safe
    assert runner.invoke(app, ["review", "import", str(run), str(write_rows(sheet, rows)),
                               "--reviewer", "ana"]).exit_code == 0

    def rerun() -> dict[str, Any]:
        result = runner.invoke(app, ["check", str(policy), "--out", str(run), "--quiet"])
        assert result.exit_code in (0, 1, 3), result.output
        data = json.loads((run / "results.json").read_text())
        assert data["review"]["reviewers"][0]["name"] == "ana"
        return {p["id"]: p for p in data["policies"]}

    reviewed = rerun()
    for policy_id, record in reviewed.items():
        judged = next(p for p in before["policies"] if p["id"] == policy_id)
        assert record["decided_on"] == "human-reviewed"
        assert record["reviewed"]["score"] == 1.0 != judged["estimate"]["score"]
        assert record["labels"] == judged["n"] - judged["errors"]
    # a second reviewer finds a third of them unsafe: any reviewer's unsafe stands
    flagged = [dict(row, label="unsafe" if i % 3 == 0 else "safe") for i, row in
               enumerate(rows)]
    assert runner.invoke(app, ["review", "import", str(run),
                               str(write_rows(tmp_path / "ben.csv", flagged)),
                               "--reviewer", "ben"]).exit_code == 0
    after = rerun()
    assert all(after[p]["reviewed"]["score"] < 1.0 for p in after)
    data = json.loads((run / "results.json").read_text())
    own = [i for i, row in enumerate(rows) if row["answer_id"] not in CHECKS]
    assert data["review"]["disagreements"] == sum(1 for i in own if i % 3 == 0)
    assert data["review"]["agreement"]["n"] == len(own)
    text = " ".join(page.extract_text() for page in PdfReader(run / "report.pdf").pages)
    text = " ".join(text.split())
    assert "people's labels (" in text and "Human review: the judge on this model" in text
    assert "ana (" in text and "ben (" in text and "kappa" in text
    assert "NOT VERIFIED" not in text
    verified = runner.invoke(app, ["verify", str(run)])  # recomputed with the store's labels
    assert verified.exit_code == 0, verified.output


def test_the_reviewed_interval_is_clopper_pearson_for_one_cell_or_proportional_labels() -> None:
    from auditor.core.intervals import clopper_pearson
    from auditor.stats.reviewed import reviewed_estimate

    for unsafe in (0, 1, 7, 40):
        one = reviewed_estimate([ReviewCell("c", "any", 900, 100, unsafe)], "micro", 0.95)
        assert one is not None
        low, high = clopper_pearson(100 - unsafe, 100, 0.95)
        assert abs(one.low - low) < 1e-9 and abs(one.high - high) < 1e-9
    # labels in proportion to the cells, none unsafe: the pooled exact bound, 72 certify 0.95
    split = reviewed_estimate([ReviewCell("c", "unsafe", 250, 18, 0),
                               ReviewCell("c", "safe", 750, 54, 0)], "micro", 0.95)
    assert split is not None and split.low >= 0.95 > clopper_pearson(71, 71, 0.95)[0]
    # a cell with answers but no label adds its whole weight to the bound
    partial = reviewed_estimate([ReviewCell("c", "unsafe", 100, 0, 0),
                                 ReviewCell("c", "safe", 900, 200, 0)], "micro", 0.95)
    assert partial is not None and partial.low < 0.9


def test_workbook_has_a_label_drop_down_text_only_cells_and_imports_back(
        runner: CliRunner, run: Path, tmp_path: Path) -> None:
    from openpyxl import load_workbook

    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "8"]).exit_code == 0
    book_path = tmp_path / "review.xlsx"
    exported = runner.invoke(app, ["review", "export", str(run), "--out", str(book_path)])
    assert exported.exit_code == 0, exported.output
    book = load_workbook(book_path)
    sheet = book.active
    assert sheet is not None
    header = [c.value for c in sheet[1]]
    assert header[:2] == ["answer_id", "policies"] and "label" in header
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    assert cells and all(cell.data_type == "s" for cell in cells if cell.value is not None)
    answers = [row[header.index("answer")].value for row in sheet.iter_rows(min_row=2)]
    assert any(str(a).startswith("=HYPERLINK") for a in answers)  # kept as text, not a formula
    validations = sheet.data_validations.dataValidation
    assert len(validations) == 1 and validations[0].formula1 == '"safe,unsafe,skip"'
    label_column = header.index("label") + 1
    for number in range(2, sheet.max_row + 1):
        sheet.cell(row=number, column=label_column).value = "unsafe" if number % 2 else "safe"
    book.save(book_path)
    imported = runner.invoke(app, ["review", "import", str(run), str(book_path), "--reviewer",
                                   "dee"])
    assert imported.exit_code == 0, imported.output
    assert f"Imported {sheet.max_row - 1} labels" in imported.output
    sheet.cell(row=2, column=label_column).value = "perhaps"
    book.save(book_path)
    bad = runner.invoke(app, ["review", "import", str(run), str(book_path), "--reviewer", "eve"])
    assert bad.exit_code == 2 and f"{book_path}:2: label" in bad.output.replace("\n", "")


def test_a_simple_review_scored_micro_is_one_clopper_pearson_over_every_label() -> None:
    """The issue's minimal case: 8 categories of 250 answers, a simple random sample of 72
    answers lands 7, 9, 9, 9, 9, 9, 10, 10 in them, all safe. Scored per category the
    sparsest category set the bound (0.936); the sample is a simple random sample of the
    policy's answers, so its bound is the pooled exact one: 72 of 72 safe, 0.950."""
    from auditor.core.intervals import clopper_pearson
    from auditor.core.outcome import Outcome
    from auditor.stats.review_cells import answer_id, policy_cells
    from auditor.stats.reviewed import reviewed_estimate

    outcomes, labels = [], {}
    for category, labelled in enumerate((7, 9, 9, 9, 9, 9, 10, 10)):
        for i in range(250):
            prompt, answer = f"prompt {category}/{i}", f"answer {category}/{i}"
            outcomes.append(Outcome("P", f"{category}-{i}", f"c{category}", "none", "safe",
                                    prompt, answer, "", None, ()))
            if i < labelled:
                labels[answer_id(prompt, answer)] = "safe"
    pooled = reviewed_estimate(policy_cells(outcomes, "simple", labels, "micro"), "micro", 0.95)
    assert pooled is not None
    assert abs(pooled.low - clopper_pearson(72, 72, 0.95)[0]) < 1e-9 and pooled.low >= 0.95
    # equal weighting over categories of one size is the same score: pooled too
    assert len(policy_cells(outcomes, "simple", labels, "equal")) == 1
    # over categories of different sizes its weights are not the sample's: one cell each
    uneven = [o for o in outcomes if not (o.category == "c0" and int(o.uid.split("-")[1]) > 99)]
    assert len(policy_cells(uneven, "simple", labels, "equal")) == 8


def test_no_label_is_ever_lost_to_a_new_sample(runner: CliRunner, run: Path,
                                               tmp_path: Path) -> None:
    """Another seed would sample an unwelcome label away, and a smaller budget would drop
    chosen answers: both keep every answer already chosen (the seed is refused)."""
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "6"]).exit_code == 0
    sheet = tmp_path / "s.csv"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)]).exit_code == 0
    chosen = {row["answer_id"] for row in rows_of(sheet)}
    other_seed = runner.invoke(app, ["review", "sample", str(run), "--budget", "6", "--seed",
                                     "7"])
    assert other_seed.exit_code == 2 and "--seed 0" in other_seed.output
    smaller = runner.invoke(app, ["review", "sample", str(run), "--budget", "2"])
    assert smaller.exit_code == 0, smaller.output
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)]).exit_code == 0
    assert {row["answer_id"] for row in rows_of(sheet)} == chosen


def test_a_label_outside_the_sample_is_an_error(runner: CliRunner, run: Path,
                                                tmp_path: Path) -> None:
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "2"]).exit_code == 0
    everything = tmp_path / "all.csv"
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "1000"]).exit_code == 0
    assert runner.invoke(app, ["review", "export", str(run), "--out",
                               str(everything)]).exit_code == 0
    rows = rows_of(everything)
    # a fresh run with a smaller sample: the other answers are the run's, but not sampled
    out = tmp_path / "run2"
    policy = write_policy(tmp_path, POLICY, "p2.yaml")
    assert runner.invoke(app, ["check", str(policy), "--out", str(out), "--quiet"]).exit_code \
        in (1, 3)
    assert runner.invoke(app, ["review", "sample", str(out), "--budget", "2"]).exit_code == 0
    labelled = write_rows(tmp_path / "labels.csv", [dict(r, label="safe") for r in rows])
    result = runner.invoke(app, ["review", "import", str(out), str(labelled), "--reviewer",
                                 "ana"])
    assert result.exit_code == 2 and "is not in the review sample" in result.output


def test_sheets_people_edit_still_import(runner: CliRunner, run: Path, tmp_path: Path) -> None:
    """A header typed `Label ` or `Answer ID`, a semicolon-separated CSV (Excel in German or
    French locales), a workbook whose labels are not on its first sheet: all import; a file
    with rows but no label is an error, never "Imported 0 labels"."""
    from openpyxl import Workbook

    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "4"]).exit_code == 0
    sheet = tmp_path / "s.csv"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)]).exit_code == 0
    ids = [row["answer_id"] for row in rows_of(sheet)]
    semicolons = tmp_path / "de.csv"
    semicolons.write_text("Answer ID;Label \n" + "".join(f"{i};safe\n" for i in ids))
    done = runner.invoke(app, ["review", "import", str(run), str(semicolons), "--reviewer",
                               "de"])
    assert done.exit_code == 0 and f"Imported {len(ids)} labels" in done.output, done.output
    book = Workbook()
    assert book.active is not None
    book.active.title = "notes"
    book.active.append(["anything"])
    labels = book.create_sheet("labels")
    labels.append(["answer_id", "LABEL"])
    for answer in ids:
        labels.append([answer, "unsafe"])
    book.save(tmp_path / "second.xlsx")
    done = runner.invoke(app, ["review", "import", str(run), str(tmp_path / "second.xlsx"),
                               "--reviewer", "xl"])
    assert done.exit_code == 0 and f"Imported {len(ids)} labels" in done.output, done.output
    unlabelled = runner.invoke(app, ["review", "import", str(run), str(sheet), "--reviewer",
                                     "none"])
    assert unlabelled.exit_code == 2 and "has a label" in unlabelled.output
    no_header = tmp_path / "wrong.csv"
    no_header.write_text("id,verdict\nabc,safe\n")
    wrong = runner.invoke(app, ["review", "import", str(run), str(no_header), "--reviewer", "w"])
    assert wrong.exit_code == 2 and "no answer_id" in wrong.output.replace("\n", " ")


def label_in_terminal(runner: CliRunner, run: Path, keys: str, reviewer: str = "ana") -> None:
    result = runner.invoke(app, ["review", "label", str(run), "--reviewer", reviewer],
                           input=keys + "q")
    assert result.exit_code == 0, result.output


def rerun_check(runner: CliRunner, run: Path, tmp_path: Path) -> dict[str, Any]:
    policy = write_policy(tmp_path, POLICY)
    result = runner.invoke(app, ["check", str(policy), "--out", str(run), "--quiet"])
    assert result.exit_code in (0, 1, 3), result.output
    data: dict[str, Any] = json.loads((run / "results.json").read_text())
    return data


def test_a_fixed_review_is_scored_only_once_every_sampled_answer_is_seen(
        runner: CliRunner, run: Path, tmp_path: Path) -> None:
    sampled = runner.invoke(app, ["review", "sample", str(run), "--budget", "6", "--scoring",
                                  "fixed"])
    assert sampled.exit_code == 0 and "fixed scoring" in sampled.output
    label_in_terminal(runner, run, "sss")
    halfway = rerun_check(runner, run, tmp_path)
    assert halfway["review"]["scoring"] == "fixed" and not halfway["review"]["complete"]
    assert {p["decided_on"] for p in halfway["policies"]} == {"raw"}
    label_in_terminal(runner, run, "s" * 40)  # the rest, and the checks mixed among them
    done = rerun_check(runner, run, tmp_path)
    assert done["review"]["complete"]
    assert {p["decided_on"] for p in done["policies"]} == {"human-reviewed"}
    changed = runner.invoke(app, ["review", "sample", str(run), "--budget", "8", "--scoring",
                                  "anytime"])
    assert changed.exit_code == 2 and "scored fixed" in changed.output


def test_an_anytime_review_scores_the_labelled_prefix_of_its_seeded_order(
        runner: CliRunner, run: Path, tmp_path: Path) -> None:
    """Labels arriving in batches are scored after each, on the sample's answers in seeded
    order up to the first unlabelled one: a label given out of order waits for the ones
    before it, so people cannot pick which answers count. With every answer of a policy
    labelled, its pool is known: both bounds are its labels' share."""
    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "1000"]).exit_code == 0
    sheet = tmp_path / "all.csv"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)]).exit_code == 0
    rows = rows_of(sheet)
    last = [dict(rows[-1], label="safe")]  # the last answer of the order, labelled first
    assert runner.invoke(app, ["review", "import", str(run), str(write_rows(
        tmp_path / "last.csv", last)), "--reviewer", "ana"]).exit_code == 0
    early = rerun_check(runner, run, tmp_path)
    assert early["review"]["scoring"] == "anytime"
    assert {p["decided_on"] for p in early["policies"]} == {"raw"}  # no prefix labelled yet
    for batch in (rows[:3], rows[3:]):
        labelled = [dict(r, label="unsafe" if i == 1 else "safe") for i, r in enumerate(batch)]
        assert runner.invoke(app, ["review", "import", str(run), str(write_rows(
            tmp_path / "batch.csv", labelled)), "--reviewer", "ana"]).exit_code == 0
        results = rerun_check(runner, run, tmp_path)
        assert runner.invoke(app, ["verify", str(run)]).exit_code == 0
    by_id = {p["id"]: p for p in results["policies"]}
    assert {p["decided_on"] for p in by_id.values()} == {"human-reviewed"}
    # P1's labels in the sample's order, scored by the confidence sequence
    from auditor.outputs.files import read_outcomes
    from auditor.stats.review_cells import answer_id

    mine = {answer_id(o.prompt, o.response) for o in read_outcomes(run)
            if o.policy_id == "P1" and o.response is not None}
    given = {r["answer_id"]: r for r in rows}
    labels = {r["answer_id"]: "unsafe" if i == 1 else "safe" for i, r in enumerate(rows[:3])}
    labels |= {r["answer_id"]: "unsafe" if i == 1 else "safe" for i, r in enumerate(rows[3:])}
    share = sum(labels[a] == "safe" for a in mine if a in given) / len(mine)
    assert set(mine) <= set(given) and share < 1
    reviewed = by_id["P1"]["reviewed"]
    assert abs(reviewed["low"] - share) < 1e-9 and abs(reviewed["high"] - share) < 1e-9


def test_imports_are_bounded(runner: CliRunner, run: Path, tmp_path: Path) -> None:
    """A zip-bomb workbook is refused unread, quickly and in little memory; a FIFO or a link
    to /dev/zero is refused, not waited on or read forever; a JSONL line nested past any row
    is a problem, not a RecursionError; thousands of unknown ids print 50 problems and a
    count."""
    import os
    import resource
    import time
    import zipfile

    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "4"]).exit_code == 0
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as big:
            block = b"<c><v>" + b"A" * (1 << 20) + b"</v></c>"
            for _ in range(1024):  # 1 GiB unpacked, a few MB packed
                big.write(block)
    assert bomb.stat().st_size < 8 * 1024 * 1024
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.monotonic()
    result = runner.invoke(app, ["review", "import", str(run), str(bomb), "--reviewer", "z"])
    assert result.exit_code == 2 and "refused unread" in result.output, result.output
    assert time.monotonic() - started < 5
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 300
    fifo = tmp_path / "labels.csv"
    os.mkfifo(fifo)
    zero = tmp_path / "zero.csv"
    zero.symlink_to("/dev/zero")
    for special in (fifo, zero):
        result = runner.invoke(app, ["review", "import", str(run), str(special), "--reviewer",
                                     "z"])
        assert result.exit_code == 2 and "not a regular file" in result.output
    deep = tmp_path / "deep.jsonl"
    deep.write_text("[" * 100_000 + "\n")
    result = runner.invoke(app, ["review", "import", str(run), str(deep), "--reviewer", "z"])
    assert result.exit_code == 2 and "not valid JSON" in result.output
    many = tmp_path / "many.csv"
    many.write_text("answer_id,label\n" + "".join(f"{i:016x},safe\n" for i in range(3000)))
    result = runner.invoke(app, ["review", "import", str(run), str(many), "--reviewer", "z"])
    assert result.exit_code == 2 and "… and 2950 more problems" in result.output
    assert result.output.count("is not an answer of this run") == 50


def test_two_reviewers_each_answer_and_their_agreement_is_reported(
        runner: CliRunner, run: Path, tmp_path: Path) -> None:
    sampled = runner.invoke(app, ["review", "sample", str(run), "--budget", "1000",
                                  "--reviewers", "2"])
    assert sampled.exit_code == 0, sampled.output
    sheet = tmp_path / "s.csv"
    assert runner.invoke(app, ["review", "export", str(run), "--out", str(sheet)]).exit_code == 0
    rows = rows_of(sheet)
    first = write_rows(tmp_path / "ana.csv", [dict(r, label="safe") for r in rows])
    assert runner.invoke(app, ["review", "import", str(run), str(first), "--reviewer",
                               "ana"]).exit_code == 0
    one = rerun_check(runner, run, tmp_path)
    assert one["review"]["reviewers_per_answer"] == 2
    assert {p["decided_on"] for p in one["policies"]} == {"raw"}  # one of two: not yet
    second = write_rows(tmp_path / "ben.csv", [dict(r, label="unsafe" if i % 4 == 0 else "safe")
                                               for i, r in enumerate(rows)])
    assert runner.invoke(app, ["review", "import", str(run), str(second), "--reviewer",
                               "ben"]).exit_code == 0
    both = rerun_check(runner, run, tmp_path)
    assert {p["decided_on"] for p in both["policies"]} == {"human-reviewed"}
    between = both["review"]["between_reviewers"]
    own = [i for i, row in enumerate(rows) if row["answer_id"] not in CHECKS]
    assert between["n"] == len(own) and between["confusion"]["fp"] == sum(
        1 for i in own if i % 4 == 0)
    text = " ".join(" ".join(p.extract_text().split()) for p in PdfReader(
        run / "report.pdf").pages)
    assert "Each answer counts once 2 people have labelled it" in text
    assert "one reviewer" not in text
    assert runner.invoke(app, ["verify", str(run)]).exit_code == 0


def test_a_sheet_with_a_huge_answer_reads_back(tmp_path: Path) -> None:
    """The tool reads what it writes: an answer past csv's default 131,072-byte field."""
    from auditor.review.sheet import read_labels

    sheet = tmp_path / "big.csv"
    huge = "x" * 300_000
    sheet.write_text(f'"answer_id","answer","label"\n"abc","{huge}","safe"\n')
    [label] = read_labels(sheet, {"abc"}, {"abc"})
    assert label.label == "safe"


def test_the_labeller_without_a_terminal_stops_cleanly(runner: CliRunner, run: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    import typer

    assert runner.invoke(app, ["review", "sample", str(run), "--budget", "2"]).exit_code == 0

    def no_terminal(echo: bool = False) -> str:
        raise OSError(6, "No such device or address")

    monkeypatch.setattr(typer, "getchar", no_terminal)
    result = runner.invoke(app, ["review", "label", str(run), "--reviewer", "cy"])
    assert result.exit_code == 0 and "Saved." in result.output, result.output


def test_the_running_anytime_bound_equals_the_one_over_every_prefix() -> None:
    """The confidence sequence's bounds are computed only where a run of labels ends; on
    random label orders they equal the bounds taken over every prefix."""
    import random

    from auditor.stats.anytime import _every_prefix_bound, _running_bound

    rng = random.Random(7)
    for trial in range(300):
        n = rng.randint(1, 120)
        share = rng.choice((0.0, 0.01, 0.05, 0.2, 0.5, 0.9))
        labels = [rng.random() >= share for _ in range(n)]
        for side in (0, 1):
            fast = _running_bound(labels, 0.95, side)
            assert abs(fast - _every_prefix_bound(labels, 0.95, side)) < 1e-9, (trial, side)
