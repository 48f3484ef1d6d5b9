"""Reading leads from a CSV file: every bad row reported by line, good rows kept."""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.domain.leads import CSV_ID_PREFIX
from bot.intake_schema import LeadIn, field_errors
from bot.text_files import decode_utf8

CONTACT_COLUMNS = ("name", "email", "phone", "company", "street")
LEAD_COLUMNS = (
    "source",
    "external_id",
    "country",
    "postcode",
    "city",
    "lat",
    "lon",
    "specialties",
    "need",
    "temperature",
    "qualification",
    "estimated_value",
    "language",
    "consent",
)
COLUMNS = LEAD_COLUMNS + CONTACT_COLUMNS


@dataclass(frozen=True)
class Row:
    line: int
    lead: LeadIn | None
    problems: list[str]


def _to_document(raw: dict[str, str], default_source: str) -> dict[str, Any]:
    doc: dict[str, Any] = {}
    for key, value in raw.items():
        value = (value or "").strip()
        if not value:
            continue
        if key in CONTACT_COLUMNS:
            doc.setdefault("contact", {})[key] = value
        elif key == "specialties":
            doc[key] = [s.strip() for s in value.replace(",", ";").split(";") if s.strip()]
        else:
            doc[key] = value
    doc.setdefault("source", default_source)
    # a row without an id of its own is known by its content, so importing the file again
    # (or a later export that repeats it) finds the lead instead of making a second one
    doc.setdefault("external_id", row_id(doc))
    return doc


def row_id(doc: dict[str, Any]) -> str:
    """The external id of a CSV row that has none: a digest of everything in it but its source
    (which the id is scoped by anyway)."""
    rest = {k: v for k, v in doc.items() if k != "source"}
    content = json.dumps(rest, sort_keys=True, ensure_ascii=False)  # whatever the column order
    return CSV_ID_PREFIX + hashlib.sha256(content.encode()).hexdigest()[:40]


def read_leads(path: Path, *, default_source: str = "csv") -> list[Row]:
    """Every data row with its file line number, validated (problems listed when bad).

    The whole file is read before any row is imported: a file that cannot be read to its end
    (not UTF-8, broken quoting) is refused as a whole (ValueError naming the line), rather than
    imported up to that line with its rest left out.
    """
    text = decode_utf8(path, path.read_bytes())
    # strict: a quote left open is an error, not a field that runs on over the rows after it
    reader = csv.DictReader(io.StringIO(text, newline=""), strict=True)
    rows: list[Row] = []
    started = 1  # the line the row being read starts on, where a quote may have been opened
    try:
        _check_header(path, reader.fieldnames)
        started = reader.line_num + 1
        for row in _rows(reader, default_source):
            rows.append(row)
            started = reader.line_num + 1
    except csv.Error as exc:
        raise ValueError(f"{path}: line {started}: {exc}") from None
    return _one_lead_per_id(rows)


def _one_lead_per_id(rows: list[Row]) -> list[Row]:
    """A second row with an id already in the file and other data is refused: it would be
    taken for a repeat of the first and its data dropped (a row repeated as it is, is one)."""
    first: dict[tuple[str, str | None], Row] = {}
    out = []
    for row in rows:
        if row.lead is not None:
            earlier = first.setdefault((row.lead.source, row.lead.external_id), row)
            if earlier.lead != row.lead:
                reused = f"'{row.lead.external_id}' is already on line {earlier.line}"
                row = Row(row.line, None, [f"external_id: {reused}, with other data"])
        out.append(row)
    return out


def _check_header(path: Path, fieldnames: Sequence[str] | None) -> None:
    columns = f"the columns are: {', '.join(COLUMNS)}"
    if not fieldnames:  # an empty file, or an empty first line
        raise ValueError(f"{path}: line 1: no header row naming the columns; {columns}")
    unnamed = [str(i) for i, c in enumerate(fieldnames, start=1) if not c.strip()]
    if unnamed:  # a spreadsheet's trailing comma, or a column whose heading was left empty
        raise ValueError(f"{path}: line 1: column {', '.join(unnamed)} has no name; {columns}")
    unknown = [c for c in fieldnames if c not in COLUMNS]
    if unknown:
        raise ValueError(f"{path}: line 1: unknown columns {', '.join(unknown)}; {columns}")
    # a row is read by column name: of a name given twice only the last value would be kept
    twice = [c for i, c in enumerate(fieldnames) if c in fieldnames[:i]]
    if twice:
        raise ValueError(f"{path}: line 1: columns named twice: {', '.join(dict.fromkeys(twice))}")


def _rows(reader: csv.DictReader[str], default_source: str) -> Iterator[Row]:
    for raw in reader:
        line = reader.line_num
        if None in raw:
            yield Row(line, None, ["has more fields than the header"])
            continue
        try:
            yield Row(line, LeadIn.model_validate(_to_document(raw, default_source)), [])
        except ValidationError as exc:
            yield Row(line, None, field_errors(exc))
