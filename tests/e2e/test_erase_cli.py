"""`leadbot erase`, run as an operator would (typer's runner, real database)."""

from __future__ import annotations

import asyncio

import pytest

from bot.store.db import create_engine
from bot.store.tables import lead_contacts, leads, outbox
from tests.e2e.test_cli import EXAMPLE, invoke

ROWS = """country,postcode,specialties,name,email,phone,external_id
DE,80331,heat-pump,Hanna Heizlos,hanna@example.com,+49 89 3141592,t-1
DE,80333,heat-pump,Hanna Heizlos,HANNA@example.com,089 3141592,t-2
DE,80335,heat-pump,Otto Other,otto@example.com,+49 89 2718281,t-3
"""


def contact_rows(url: str) -> list[tuple[str | None, str | None, str | None]]:
    async def go() -> list[tuple[str | None, str | None, str | None]]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                stmt = lead_contacts.select().order_by(lead_contacts.c.lead_id)
                return [(r.email, r.phone, r.erased_by) for r in await conn.execute(stmt)]
        finally:
            await engine.dispose()

    return asyncio.run(go())


def outbox_rows(url: str) -> int:
    async def go() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return len(list(await conn.execute(outbox.select())))
        finally:
            await engine.dispose()

    return asyncio.run(go())


def external_ids(url: str) -> list[str]:
    async def go() -> list[str]:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                stmt = leads.select().order_by(leads.c.id)
                return [r.external_id for r in await conn.execute(stmt)]
        finally:
            await engine.dispose()

    return asyncio.run(go())


@pytest.fixture
def imported(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env or leadbot.yaml
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "leads.csv"
    path.write_text(ROWS)
    assert "3 imported" in invoke("leads", "import", str(path)).output
    return database_url


def test_dry_run_then_erase_by_email(imported):
    before, queued = contact_rows(imported), outbox_rows(imported)
    dry = invoke("erase", "--email", "Hanna@Example.com", "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert (
        "would erase the contact of 2 lead(s)" in dry.output and "nothing was changed" in dry.output
    )
    assert contact_rows(imported) == before and outbox_rows(imported) == queued

    done = invoke("erase", "--email", "hanna@example.com")
    assert done.exit_code == 0, done.output
    assert "erased the contact of 2 lead(s)" in done.output
    assert "chat message(s) are redrawn" in done.output and "not finished yet" in done.output
    assert contact_rows(imported) == [
        (None, None, "request"),
        (None, None, "request"),
        ("otto@example.com", "+49 89 2718281", None),
    ]
    again = invoke("erase", "--email", "hanna@example.com")
    assert again.exit_code == 1 and "no lead has the e-mail address" in again.output


def test_erase_by_phone_written_another_way(imported):
    done = invoke("erase", "--phone", "0049 89 314 15 92")
    assert done.exit_code == 0, done.output
    assert "erased the contact of 2 lead(s)" in done.output
    assert [row[2] for row in contact_rows(imported)] == ["request", "request", None]


@pytest.mark.parametrize(
    ("args", "code", "says"),
    [
        ([], 2, "give exactly one of --email or --phone"),
        (["--email", "a@example.com", "--phone", "+49 89 1234567"], 2, "exactly one"),
        (["--email", "hanna"], 2, "is not an e-mail address"),
        (["--phone", "1234"], 2, "too few digits"),
        (["--email", "nobody@example.com"], 1, "no lead has the e-mail address"),
    ],
)
def test_bad_or_unmatched_input_is_refused_and_changes_nothing(imported, args, code, says):
    before = contact_rows(imported)
    result = invoke("erase", *args)
    assert result.exit_code == code and says in result.output, result.output
    assert contact_rows(imported) == before


def test_the_digest_id_of_a_csv_row_without_one_goes_with_the_person(imported, tmp_path):
    path = tmp_path / "booth.csv"
    path.write_text("country,postcode,name,email\nDE,80469,Ida Booth,ida@example.com\n")
    assert "1 imported" in invoke("leads", "import", str(path)).output
    assert external_ids(imported)[-1].startswith("csv:")  # made of her row
    assert invoke("erase", "--email", "ida@example.com").exit_code == 0
    assert external_ids(imported)[-1].startswith("erased:")
    assert external_ids(imported)[:3] == ["t-1", "t-2", "t-3"]  # others' ids stay
