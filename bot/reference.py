"""docs/configuration.md, generated from the Settings and the leadbot.yaml schema (their
attribute docstrings, types, defaults and limits), so the reference cannot drift from the code.

    python -m bot.reference            print it
    python -m bot.reference --write    write docs/configuration.md (a test compares the two)
"""

from __future__ import annotations

import sys
import types
import typing
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal

import annotated_types as at
from pydantic import BaseModel, SecretStr
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from bot.config import Settings
from bot.domain.durations import format_duration
from bot.policy_file import LeadbotConfig

DOC = Path(__file__).resolve().parents[1] / "docs" / "configuration.md"
INTRO = """# Configuration reference

Generated from the code by `python -m bot.reference --write` (`bot/config.py` and
`bot/policy_file.py`); a test fails when this file and the code disagree.

Two places hold configuration: **environment variables** (or a `.env` file beside where Leadbot
runs; see `.env.example`), read once at start, and **`leadbot.yaml`**, the policy, partners and
managers, applied at `leadbot serve` start and by `leadbot config apply` (each apply is a new
policy version; leads in flight keep theirs). A bad `leadbot.yaml` is refused whole, with every
problem listed by path; the running policy stays as it was. Unknown keys are errors.
"""


def _strip_optional(annotation: Any) -> tuple[Any, bool]:
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) in (typing.Union, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        return (rest[0] if len(rest) == 1 else typing.Union[tuple(rest)]), True  # noqa: UP007
    return annotation, False


def _unwrap(annotation: Any) -> Any:
    """The type under Annotated[...] wrappers."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    return annotation


def type_name(annotation: Any) -> str:
    """A reader's name for a field's type."""
    annotation, _ = _strip_optional(_unwrap(annotation))
    annotation = _unwrap(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is dict:
        return f"mapping of name to {type_name(args[1])}"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "mapping"
    names = {
        bool: "true or false", int: "integer", float: "number", str: "text", Path: "path",
        SecretStr: "secret", timedelta: "duration (`90s`, `30m`, `2h`, `1d`)",
        date: "date (`YYYY-MM-DD`)",
    }  # fmt: skip
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _limits(field: FieldInfo) -> str:
    marks = {at.Ge: ("≥", "ge"), at.Gt: (">", "gt"), at.Le: ("≤", "le"), at.Lt: ("<", "lt")}
    found = []
    for item in field.metadata:
        for kind, (sign, attr) in marks.items():
            if isinstance(item, kind):
                found.append(f"{sign} {getattr(item, attr)}")
        if isinstance(item, at.MinLen) and item.min_length > 0:
            found.append(f"at least {item.min_length}")
    return ", ".join(found)


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = field.get_default(call_default_factory=True)
    if value is None or value is PydanticUndefined or value in ([], {}):
        return "unset"
    if isinstance(value, timedelta):
        return f"`{format_duration(value)}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, BaseModel):
        return "see below"
    if isinstance(value, list):
        return "`[" + ", ".join(str(v) for v in value) + "]`"
    return f"`{value}`"


def _text(field: FieldInfo) -> str:
    return " ".join((field.description or "").split())


def _row(*cells: str) -> str:
    return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"


def settings_section() -> list[str]:
    lines = ["## Environment variables", "", _row("variable", "default", "meaning")]
    lines.append("|---|---|---|")
    for name, field in Settings.model_fields.items():
        lines.append(_row(f"`{name.upper()}`", default_text(field), _text(field)))
    return lines


def _model_rows(model: type[BaseModel], prefix: str) -> list[tuple[str, FieldInfo]]:
    """(path, field) for every key of `model`, nested models flattened after their key."""
    rows: list[tuple[str, FieldInfo]] = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        rows.append((path, field))
        inner, _ = _strip_optional(_unwrap(field.annotation))
        origin, args = typing.get_origin(inner), typing.get_args(inner)
        nested = {
            list: (args[0] if args else None, "[]."),
            dict: (args[-1] if args else None, ".<name>."),
        }
        child, joint = nested.get(origin, (inner, "."))
        if isinstance(child, type) and issubclass(child, BaseModel):
            rows += _model_rows(child, path + joint)
    return rows


def yaml_section() -> list[str]:
    lines = ["## leadbot.yaml", ""]
    current = None
    for path, field in _model_rows(LeadbotConfig, ""):
        top = path.split(".")[0].split("[")[0]
        if top != current:
            current = top
            top_field = LeadbotConfig.model_fields[top]
            lines += ["", f"### `{top}`", "", _text(top_field), ""]
            lines += [_row("key", "type", "default", "meaning"), "|---|---|---|---|"]
        if path == top and top_field.annotation is not int:
            continue  # a section's own row: its text is the section's introduction
        limits = _limits(field)
        kind = type_name(field.annotation) + (f" ({limits})" if limits else "")
        lines.append(_row(f"`{path}`", kind, default_text(field), _text(field)))
    return lines


def render() -> str:
    """The whole reference, as Markdown."""
    return "\n".join([INTRO, *settings_section(), "", *yaml_section()]).rstrip() + "\n"


def main() -> None:
    text = render()
    if "--write" in sys.argv[1:]:
        DOC.parent.mkdir(exist_ok=True)
        DOC.write_text(text, encoding="utf-8")
        print(f"wrote {DOC}")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
