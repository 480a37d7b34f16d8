"""The review sheet: the sample written as an Excel workbook, CSV or JSONL for people to label,
and their labels read back. Answers and prompts are untrusted text: a CSV cell that a
spreadsheet would read as a formula (starting with =, +, -, @, a tab or a carriage return) is
written with a leading apostrophe, so it stays text; in a workbook every cell is stored as a
string (never a formula), and the label column offers safe / unsafe / skip as a drop-down.
Reading is strict: an unknown answer id, a label that is not safe, unsafe or skip, or one
answer labelled two ways in one file is an error naming the file, row and field, and nothing
from that file is imported.
"""

from __future__ import annotations

import csv
import io
import json
import stat
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Literal

from auditor.core.errors import AuditorError, LabelsError, Problem
from auditor.review.sample import ReviewItem
from auditor.stages.store import HumanLabel

Format = Literal["xlsx", "csv", "jsonl"]
COLUMNS = ("answer_id", "policies", "category", "attack_type", "judge_label", "prompt",
           "answer", "label", "note")
LABELS = ("safe", "unsafe", "skip")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
MAX_SHEET_BYTES = 256 * 1024 * 1024


def inert_cell(text: str) -> str:
    """A cell no spreadsheet evaluates: text starting like a formula gets an apostrophe."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def sheet_rows(items: Iterable[ReviewItem], labels: dict[str, HumanLabel] | None = None,
               show_judge: bool = False) -> list[dict[str, str]]:
    """One row per answer. The judge's verdict is left out unless `show_judge`: a reviewer
    who sees it tends to agree with it, and the review is there to measure the judge."""
    labels = labels or {}
    rows = []
    for item in items:
        given = labels.get(item.answer_id)
        row = {"answer_id": item.answer_id, "policies": " ".join(item.policies),
               "category": item.category, "attack_type": item.attack_type,
               "judge_label": item.judge_label, "prompt": item.prompt,
               "answer": item.answer, "label": given.label if given else "",
               "note": (given.note or "") if given else ""}
        if not show_judge:
            del row["judge_label"]
        rows.append(row)
    return rows


def _columns(rows: list[dict[str, str]]) -> tuple[str, ...]:
    return tuple(key for key in COLUMNS if not rows or key in rows[0])


XLSX_WIDTHS = {"prompt": 60, "answer": 80, "note": 30, "label": 10}
XLSX_CELL_CHARS = 32_000  # Excel holds at most 32,767 characters in a cell


def write_workbook(rows: list[dict[str, str]]) -> bytes:
    """The sheet as an .xlsx workbook: text cells only, a drop-down in the label column."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "review"
    columns = _columns(rows)
    sheet.append(list(columns))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    for number, row in enumerate(rows, start=2):
        for column, key in enumerate(columns, start=1):
            cell = sheet.cell(row=number, column=column)
            cell.value = _printable(row[key])[:XLSX_CELL_CHARS]
            cell.data_type = "s"  # set after the value: openpyxl reads a leading "=" as a formula
            if key in ("prompt", "answer"):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    choice = DataValidation(type="list", formula1='"safe,unsafe,skip"', allow_blank=True,
                            showErrorMessage=True, errorTitle="label",
                            error="Choose safe, unsafe or skip.")
    label_column = chr(ord("A") + columns.index("label"))
    choice.add(f"{label_column}2:{label_column}{max(2, len(rows) + 1)}")
    sheet.add_data_validation(choice)
    for column, key in enumerate(columns, start=1):
        sheet.column_dimensions[chr(ord("A") + column - 1)].width = XLSX_WIDTHS.get(key, 16)
    sheet.freeze_panes = "A2"
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _printable(text: str) -> str:
    """XML 1.0 cannot hold most control characters; a workbook would not open with them."""
    return "".join(ch if ch in "\t\n\r" or ord(ch) >= 0x20 else "\ufffd" for ch in text)


def write_sheet(rows: list[dict[str, str]], fmt: Format) -> str:
    if fmt == "jsonl":
        return "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=_columns(rows), quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for row in rows:
        writer.writerow({key: inert_cell(value) for key, value in row.items()})
    return out.getvalue()


MAX_ROWS = 200_000  # far more than any run's review sample; a larger sheet is not ours
MAX_XLSX_UNPACKED = 512 * 1024 * 1024  # what a workbook may unpack to (a zip bomb: far more)
MAX_SECONDS = 60.0  # reading a sheet that takes longer is abandoned, with a clear error


def _regular_file(path: Path) -> None:
    """A FIFO would block, a device (or a link to /dev/zero) read forever: only files."""
    try:
        mode = path.stat().st_mode  # follows links: a link to a device is a device
    except FileNotFoundError:
        raise AuditorError(f"{path} not found") from None
    except OSError as exc:
        raise AuditorError(f"cannot read {path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise AuditorError(f"{path} is not a regular file (a pipe, device or folder)",
                           hint="export the sheet to a file and import that")


def _rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """(row number as a person counts it, the row) from a CSV (header first) or JSONL file."""
    _regular_file(path)
    try:
        if path.stat().st_size > MAX_SHEET_BYTES:
            raise AuditorError(f"{path} is larger than any review sheet")
        if path.suffix.lower() == ".xlsx":
            path.stat()  # not found is reported below
            text = ""
        else:
            text = path.read_text(encoding="utf-8-sig")  # spreadsheets often add a BOM
    except FileNotFoundError:
        raise AuditorError(f"{path} not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise AuditorError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() == ".xlsx":
        return _workbook_rows(path)
    if path.suffix.lower() == ".jsonl":
        rows: list[tuple[int, dict[str, object]]] = []
        for number, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                row = json.loads(line)
            except (ValueError, RecursionError):  # RecursionError: nested past any row
                raise LabelsError(str(path), [Problem(str(path), number, None, "",
                                                      "not valid JSON")]) from None
            if not isinstance(row, dict):
                raise LabelsError(str(path), [Problem(str(path), number, None, "",
                                                      "not a JSON object")])
            rows.append((number, row))
        return rows
    csv.field_size_limit(MAX_SHEET_BYTES)  # the tool reads back what it writes, long answers too
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    # the header is row 1, so the first answer is row 2 (as a spreadsheet numbers it)
    try:
        return [(number, dict(row)) for number, row in enumerate(reader, start=2)]
    except csv.Error as exc:
        raise LabelsError(str(path), [Problem(str(path), reader.line_num, None, "",
                                              f"not readable as CSV: {exc}")]) from None


def _delimiter(text: str) -> str:
    """Comma, semicolon (Excel in German or French locales) or tab: whichever splits the
    header into the most known columns."""
    header = text.split("\n", 1)[0]
    return max((",", ";", "\t"), key=lambda d: sum(_column_name(c) in COLUMNS
                                                     for c in header.split(d)))


def _column_name(text: object) -> str:
    """A header as a person may have typed it: `Label`, ` label `, `Answer ID`."""
    return str(text or "").strip().strip('"').strip().lower().replace(" ", "_")


def _workbook_rows(path: Path) -> list[tuple[int, dict[str, object]]]:
    """Rows of the first sheet of a workbook, the header in row 1 (values only: a formula a
    reviewer typed is read as the text of its cached value, never evaluated)."""
    from openpyxl import load_workbook

    _check_unpacked_size(path)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a file that is not a workbook
        raise AuditorError(f"cannot read {path} as an Excel workbook: {exc}",
                           hint="export the sheet again, or save it as .xlsx or .csv") from None
    try:
        return _sheet_rows(path, book)
    except AuditorError:
        raise
    except Exception as exc:  # the sheets are parsed as they are read: XML cut short, an
        # undefined entity, a cell of an unknown type
        raise AuditorError(f"cannot read {path} as an Excel workbook: a sheet is damaged "
                           f"({type(exc).__name__}: {str(exc)[:200]})",
                           hint="export the sheet again, or save it as .xlsx or .csv") from None
    finally:
        book.close()


def _sheet_rows(path: Path, book: Any) -> list[tuple[int, dict[str, object]]]:
    # the labels sheet is the one whose header names the answer and the label, wherever it is
    sheet = next((ws for ws in book.worksheets if {"answer_id", "label"} <= {
        _column_name(h) for h in next(ws.iter_rows(max_row=1, values_only=True), ())}),
        book.worksheets[0])
    rows = sheet.iter_rows(values_only=True)
    header = [str(h or "").strip() for h in next(rows, ())]
    found = []
    started = time.monotonic()
    for number, values in enumerate(rows, start=2):
        if number > MAX_ROWS or time.monotonic() - started > MAX_SECONDS:
            raise AuditorError(f"{path} has more rows than a review sheet can "
                               f"(stopped at row {number})",
                               hint="import the sheet `auditor review export` wrote")
        found.append((number, {k: ("" if v is None else str(v))
                               for k, v in zip(header, values, strict=False)}))
    return [(n, dict(row)) for n, row in found]


def _check_unpacked_size(path: Path) -> None:
    """A workbook is a zip: refuse one that would unpack past any review sheet before a
    parser unpacks it (a few MB can hold gigabytes of repeated cells)."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise AuditorError(f"cannot read {path} as an Excel workbook: {exc}",
                           hint="export the sheet again, or save it as .xlsx or .csv") from None
    unpacked = sum(member.file_size for member in members)
    if unpacked > MAX_XLSX_UNPACKED or len(members) > 10_000:
        raise AuditorError(f"{path} unpacks to {unpacked / 1e6:.0f} MB in {len(members)} parts, "
                           "more than any review sheet: refused unread",
                           hint="import the sheet `auditor review export` wrote")


def read_labels(path: Path, known: set[str], sample: set[str] | None = None
                ) -> list[HumanLabel]:
    """Every labelled row of a sheet (rows left blank are skipped), checked against the run's
    answer ids and, given `sample`, the review sample (a label for an answer outside it would
    never be scored); any problem fails the whole file. Header names match whatever their
    case and spacing."""
    problems: list[Problem] = []
    found: dict[str, tuple[int, HumanLabel]] = {}
    where = str(path)
    rows = [(number, {_column_name(k): v for k, v in row.items()}) for number, row in _rows(path)]
    headers = set(rows[0][1]) if rows else set()
    if rows and not {"answer_id", "label"} <= headers:
        raise LabelsError(where, [Problem(where, 1, None, "", "the header has no "
                                          f"{' and no '.join(sorted({'answer_id', 'label'} - headers))} "
                                          f"column (found: {', '.join(sorted(map(str, headers))[:8])})")],
                          hint="import the sheet `auditor review export` wrote, with its header "
                               "row; nothing was imported")
    for number, row in rows:
        answer = str(row.get("answer_id") or "").strip().lstrip("'")
        label = str(row.get("label") or "").strip().lower()
        note = str(row.get("note") or "").strip() or None
        if not label:
            continue  # not labelled yet
        if label not in LABELS:
            problems.append(Problem(where, number, None, "label",
                                    f"{label[:40]!r} is not one of safe, unsafe or skip"))
            continue
        if answer not in known:
            problems.append(Problem(where, number, None, "answer_id",
                                    f"{answer[:40]!r} is not an answer of this run"))
            continue
        if sample is not None and answer not in sample:
            problems.append(Problem(where, number, None, "answer_id",
                                    f"{answer!r} is not in the review sample: only sampled "
                                    "answers speak for the rest"))
            continue
        if answer in found and found[answer][1].label != label:
            problems.append(Problem(where, number, None, "label",
                                    f"answer {answer} is labelled {found[answer][1].label!r} "
                                    f"in row {found[answer][0]} and {label!r} here"))
            continue
        found[answer] = (number, HumanLabel(answer, label, note))
    if problems:
        raise LabelsError(where, problems, hint="fix those rows and import the file again; "
                                                "nothing from it was imported")
    if rows and not found:
        raise LabelsError(where, [Problem(where, None, None, "label", f"none of its {len(rows)} "
                                          "rows has a label (safe, unsafe or skip)")],
                          hint="fill the label column, then import again")
    return [label for _, label in found.values()]
