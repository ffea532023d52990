"""The notifications of a file for ``herald send``: a JSON envelope (or a list of them), or a CSV.

A CSV is Notify's "upload a spreadsheet": a notification per row, its recipients named by
the columns ``users``/``user``, ``emails``/``email``/``email address`` and
``phones``/``phone``/``phone number`` (several in one cell with ``,`` or ``;``), every other
column a personalisation value. Rows become ``custom/message`` envelopes for the accept
service, which checks them as it checks any request.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path
from typing import Any

from herald.cli.failures import Failure

RECIPIENT_COLUMNS = {
    "users": "users",
    "user": "users",
    "emails": "emails",
    "email": "emails",
    "email address": "emails",
    "phones": "phones",
    "phone": "phones",
    "phone number": "phones",
}
SEPARATOR = re.compile(r"[,;]")
Row = tuple[int, dict[str, Any]]


def _bad(path: Path, why: str) -> Failure:
    return Failure(f"cannot send {path}: {why}", "bad_file")


def _text(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _bad(path, "no such file") from None
    except UnicodeDecodeError:
        raise _bad(path, "it is not UTF-8 text") from None
    except OSError as exc:
        raise _bad(path, exc.strerror or type(exc).__name__) from None


def _json_rows(path: Path, template: str | None) -> list[Row]:
    try:
        loaded = json.loads(_text(path))
    except json.JSONDecodeError as exc:
        raise _bad(path, f"invalid JSON at line {exc.lineno} column {exc.colno}") from None
    envelopes = loaded if isinstance(loaded, list) else [loaded]
    if not envelopes or not all(isinstance(e, dict) for e in envelopes):
        raise _bad(path, "expected an envelope object or a list of them")
    return [
        (number, {**e, "template": template} if template else e)
        for number, e in enumerate(envelopes, start=1)
    ]


def _csv_row(cells: dict[str, str], template: str | None, message: str | None) -> dict[str, Any]:
    targets: dict[str, list[str]] = {}
    personalisation: dict[str, str] = {}
    for column, value in cells.items():
        field = RECIPIENT_COLUMNS.get(column.strip().lower())
        if field is None:
            personalisation[column.strip()] = value
            continue
        found = [v.strip() for v in SEPARATOR.split(value or "") if v.strip()]
        targets.setdefault(field, []).extend(found)
    body: dict[str, Any] = {
        "type": "custom",
        "subType": "message",
        "targets": targets,
        "personalisation": personalisation,
    }
    if template:
        body["template"] = template
    if message:
        body["message"] = message
    return body


def _csv_rows(path: Path, template: str | None, message: str | None) -> list[Row]:
    reader = csv.DictReader(_text(path).splitlines())
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if not any(c in RECIPIENT_COLUMNS for c in columns):
        named = ", ".join(sorted(set(RECIPIENT_COLUMNS)))
        raise _bad(path, f"no column names recipients (one of: {named})")
    rows: list[Row] = []
    for cells in reader:
        if None in cells:  # more cells than columns
            raise _bad(path, f"line {reader.line_num} has more cells than the header")
        rows.append((reader.line_num, _csv_row(cells, template, message)))
    if not rows:
        raise _bad(path, "it has a header but no rows")
    return rows


def read_rows(path: Path, *, template: str | None, message: str | None) -> list[Row]:
    """The numbered request bodies of a ``.json`` or ``.csv`` file, or a one-line failure."""
    suffix = path.suffix.lower()
    if suffix == ".json":
        return _json_rows(path, template)
    if suffix == ".csv":
        return _csv_rows(path, template, message)
    raise _bad(path, "name a .json or a .csv file")
