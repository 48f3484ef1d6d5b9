"""Reading the text files an operator hands the CLI (leadbot.yaml, lead CSVs)."""

from __future__ import annotations

from pathlib import Path


def decode_utf8(path: Path, data: bytes, *, line: int = 1) -> str:
    """`data` as UTF-8 text (a leading byte-order mark dropped); ValueError naming the file and
    the line of the first byte that is not UTF-8, the usual sign of a file saved as Latin-1 or
    Windows-1252 by a spreadsheet or an old editor. `line`: the one `data` starts on."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line += data.count(b"\n", 0, exc.start)
        raise ValueError(
            f"{path}: line {line}: is not UTF-8 text (byte 0x{data[exc.start]:02x});"
            " save the file as UTF-8"
        ) from None
