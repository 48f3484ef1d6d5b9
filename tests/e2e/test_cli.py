"""The operator's CLI, run as a user would (typer's runner, real database)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from bot.cli import app
from bot.store.db import create_engine
from bot.store.tables import api_keys, leads, policy_versions
from tests.factories import config, partner

runner = CliRunner()
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "leadbot.yaml"


@pytest.fixture
def env(database_url, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.chdir(tmp_path)  # no stray .env or leadbot.yaml
    return database_url


def count(url: str, table) -> int:
    from sqlalchemy import func, select

    async def go() -> int:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(select(func.count()).select_from(table))).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def first_public_id(url: str) -> str:
    from sqlalchemy import select

    async def go() -> str:
        engine = create_engine(url)
        try:
            async with engine.connect() as conn:
                return (await conn.execute(select(leads.c.public_id).limit(1))).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(go())


def invoke(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_config_check_and_apply(env, tmp_path):
    assert invoke("config", "check", str(EXAMPLE)).exit_code == 0
    applied = invoke("config", "apply", str(EXAMPLE))
    assert applied.exit_code == 0 and "policy version 1" in applied.output
    assert "policy version 2" in invoke("config", "apply", str(EXAMPLE)).output


def test_config_without_a_file_uses_leadbot_config(env, tmp_path, monkeypatch):
    """LEADBOT_CONFIG is the file `config apply` applies, as docs/configuration.md says."""
    (tmp_path / "etc").mkdir()
    chosen = tmp_path / "etc" / "policy.yaml"
    chosen.write_text(EXAMPLE.read_text())
    (tmp_path / "leadbot.yaml").write_text(yaml.safe_dump(config([partner("stale")])))
    monkeypatch.setenv("LEADBOT_CONFIG", str(chosen))
    checked = invoke("config", "check")
    assert checked.exit_code == 0 and checked.output.startswith(f"{chosen}: ok")
    applied = invoke("config", "apply")
    assert applied.exit_code == 0 and f"{chosen}: applied as policy version 1" in applied.output


def test_holidays_written_as_yaml_dates_are_stored(env, tmp_path):
    path = tmp_path / "leadbot.yaml"
    path.write_text(yaml.safe_dump(config([partner("acme")])) + "")
    doc = yaml.safe_load(path.read_text())
    doc["partners"][0]["holidays"] = ["2026-12-24"]
    path.write_text(yaml.safe_dump(doc).replace("'2026-12-24'", "2026-12-24"))
    result = invoke("config", "apply", str(path))
    assert result.exit_code == 0, result.output


def test_a_bad_file_is_refused_whole_and_the_database_is_untouched(env, tmp_path):
    bad = tmp_path / "bad.yaml"
    doc = config([partner("acme", territories=["DE:8x"]), partner("beta", capacity=-1)])
    bad.write_text(yaml.safe_dump(doc))
    for verb in ("check", "apply"):
        result = invoke("config", verb, str(bad))
        assert result.exit_code == 2
        assert (
            f"{bad}: partners[0].territories[0]: 'DE:8x' is not a postcode prefix" in result.output
        )
        assert f"{bad}: partners[1].capacity:" in result.output
    assert count(env, policy_versions) == 0


CSV = """external_id,country,postcode,city,specialties,need,name,email,phone,estimated_value
c-1,DE,80331,München,heat-pump,New heat pump,Max Kunde,max@example.com,+49 89 1,12000
c-2,DE,8033x,München,heat-pump,,Bad Postcode,bad@example.com,,
c-3,DE,80469,München,solar;heat-pump,PV,Eva,not-an-email,,
c-4,DE,80469,München,solar,PV,Eva,eva@example.com,,-5
c-5,DE,80802,München,solar,PV roof,Uli,uli@example.com,,9000
"""


def test_leads_import_reports_bad_rows_and_never_duplicates(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    first = invoke("leads", "import", str(path), "--source", "trade-show-2026")
    assert first.exit_code == 1
    assert f"{path}: line 3: postcode: '8033x' does not look like a DE postcode" in first.output
    assert f"{path}: line 4: contact.email:" in first.output
    assert f"{path}: line 5: estimated_value:" in first.output
    assert "2 imported, 0 already there, 3 rejected" in first.output
    second = invoke("leads", "import", str(path), "--source", "trade-show-2026")
    assert "0 imported, 2 already there, 3 rejected" in second.output
    assert count(env, leads) == 2


def test_reimporting_a_csv_without_external_ids_creates_no_duplicates(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "booth.csv"  # as a trade-show scanner exports it: no ids of its own
    path.write_text(
        "country,postcode,name,email\n"
        "DE,80331,Max Kunde,max@example.com\n"
        "DE,80469,Eva Muster,eva@example.com\n"
    )
    assert "2 imported, 0 already there" in invoke("leads", "import", str(path)).output
    again = invoke("leads", "import", str(path))
    assert again.exit_code == 0 and "0 imported, 2 already there" in again.output
    assert count(env, leads) == 2


def test_one_external_id_on_two_different_rows_is_reported_not_dropped(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "crm.csv"
    path.write_text(
        "external_id,country,postcode,name\n"
        "c-1,DE,80331,Max Kunde\n"
        "c-1,DE,80469,Eva Muster\n"  # another person under the same id: a broken export
        "c-1,DE,80331,Max Kunde\n"  # the same row again: nothing is lost, it is a repeat
    )
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 1
    assert f"{path}: line 3: external_id: 'c-1' is already on line 2, with other data" in (
        result.output
    )
    assert "1 imported, 1 already there, 1 rejected" in result.output


def test_a_csv_not_in_utf8_is_refused_whole_naming_its_line(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "excel.csv"  # saved by a spreadsheet as Windows-1252
    path.write_bytes(
        "external_id,country,postcode,city\nc-1,DE,80331,Muenchen\nc-2,DE,80469,München\n".encode(
            "cp1252"
        )
    )
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}: line 3: is not UTF-8 text (byte 0xfc); save the file as UTF-8" in result.output
    assert count(env, leads) == 0  # not the rows before it: fixed and imported again, all at once


def test_a_quote_left_open_in_a_csv_is_refused_not_read_as_one_long_field(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "leads.csv"
    path.write_text('external_id,country,postcode,need\nc-1,DE,80331,"Heat pump\nc-2,DE,80469,PV\n')
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}: line 2: unexpected end of data" in result.output
    assert count(env, leads) == 0  # not c-1 with the rows after it as its need


def test_a_column_named_twice_is_refused_not_half_read(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "merged.csv"  # two exports pasted side by side
    path.write_text("country,postcode,email,postcode,email\nDE,80331,a@example.com,80469,\n")
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 2
    assert f"{path}: line 1: columns named twice: postcode, email" in result.output
    assert count(env, leads) == 0


def test_a_bad_source_option_is_named_once_not_blamed_on_every_row(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "fair.csv"
    path.write_text("country,postcode\nDE,80331\nDE,80469\n")
    result = invoke("leads", "import", str(path), "--source", "trade show 2026")
    assert result.exit_code == 2
    assert result.output.startswith("--source: 'trade show 2026' is not a source name")
    assert "line 2" not in result.output and count(env, leads) == 0


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("country,postcode,\nDE,80331,\n", "line 1: column 3 has no name"),  # a trailing comma
        ("country,,postcode\nDE,,80331\n", "line 1: column 2 has no name"),
        ("", "line 1: no header row naming the columns"),
        ("\ncountry,postcode\nDE,80331\n", "line 1: no header row naming the columns"),
    ],
)
def test_a_header_without_names_says_which_column_or_that_it_is_missing(env, tmp_path, text, says):
    path = tmp_path / "leads.csv"
    path.write_text(text)
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 2 and result.output.startswith(f"{path}: {says}"), result.output
    assert "(none given)" not in result.output


def test_rejected_rows_are_counted_whatever_the_files_name(env, tmp_path):
    assert invoke("config", "apply", str(EXAMPLE)).exit_code == 0
    path = tmp_path / "fair: march.csv"
    path.write_text("country,postcode\nDE,80331\nDE,8033x\nXX,80469\n")
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 1 and "1 imported, 0 already there, 2 rejected" in result.output


def test_leads_import_rejects_unknown_columns(env, tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("zip,country\n80331,DE\n")
    result = invoke("leads", "import", str(path))
    assert result.exit_code == 2 and "unknown columns zip" in result.output


def test_leads_import_of_a_missing_file_names_it_as_config_check_does(env, tmp_path):
    missing = tmp_path / "fair.csv"
    result = invoke("leads", "import", str(missing))
    assert result.exit_code == 2
    assert f"{missing}: cannot be read (No such file or directory)" in result.output


def test_leads_show_prints_the_history(env, tmp_path):
    invoke("config", "apply", str(EXAMPLE))
    path = tmp_path / "one.csv"
    path.write_text("external_id,country,postcode,specialties\nx-1,DE,80331,heat-pump\n")
    invoke("leads", "import", str(path))
    ref = first_public_id(env)
    shown = invoke("leads", "show", ref)
    assert shown.exit_code == 0
    assert f"Lead {ref}" in shown.output and "status: offered" in shown.output
    assert "received" in shown.output and "offered" in shown.output and "csv import" in shown.output
    assert invoke("leads", "show", "LNOTHERE").exit_code == 1


def test_leads_show_prints_brackets_in_a_leads_text_as_they_are(env, tmp_path):
    """A lead's text comes from anyone who can fill in a form: it is not rich markup."""
    invoke("config", "apply", str(EXAMPLE))
    path = tmp_path / "one.csv"
    path.write_text("external_id,country,postcode,city\n[bold]x-1[/],DE,80331,München [/] Ost\n")
    assert invoke("leads", "import", str(path)).exit_code == 0
    shown = invoke("leads", "show", first_public_id(env))
    assert shown.exit_code == 0
    assert "München [/] Ost" in shown.output and "[bold]x-1[/]" in shown.output


def test_apikey_create_shows_the_key_once_and_stores_only_a_hash(env):
    created = invoke("apikey", "create", "website")
    assert created.exit_code == 0
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("lb_") and len(key) > 30
    from sqlalchemy import select

    async def stored() -> list[str]:
        engine = create_engine(env)
        async with engine.connect() as conn:
            rows = (await conn.execute(select(api_keys.c.hash, api_keys.c.prefix))).all()
        await engine.dispose()
        return [value for row in rows for value in row]

    assert all(key not in value for value in asyncio.run(stored()))
    assert invoke("apikey", "create", "website").exit_code == 1  # names are unique
    assert invoke("apikey", "revoke", "website").exit_code == 0
    assert invoke("apikey", "revoke", "website").exit_code == 1


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("", "must not be blank"),
        ("   ", "must not be blank"),
        ("k" * 101, "has 101 characters, at most 100"),
    ],
)
def test_an_apikey_name_that_cannot_tell_keys_apart_or_be_stored_is_refused(env, name, says):
    assert invoke("migrate").exit_code == 0
    result = invoke("apikey", "create", name)
    assert result.exit_code == 2 and f"error: the key's name {says}" in result.output
    assert "lb_" not in result.output and count(env, api_keys) == 0


def test_a_revoked_keys_name_is_not_offered_back_in_a_loop(env):
    """Rotating a leaked key: revoke it, then create one under the same name."""
    assert invoke("apikey", "create", "website").exit_code == 0
    assert invoke("apikey", "revoke", "website").exit_code == 0
    again = invoke("apikey", "create", "website")
    assert again.exit_code == 1
    assert "revoke it" not in again.output  # it is revoked: revoke says there is no live key
    assert "error: the API key named 'website' was revoked, and names are not reused:" in (
        again.output
    )


def test_a_bad_setting_is_named_and_nothing_runs(env, monkeypatch):
    monkeypatch.setenv("LEADBOT_API_RATE", "0")
    result = runner.invoke(app, ["migrate"])  # any command that reads the settings
    assert result.exit_code == 2
    assert "LEADBOT_API_RATE: Input should be greater than 0" in result.output
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    "url",
    [
        "postgres://leadbot:s3cr3t-pw@db/leadbot",  # as hosting providers hand it out
        "postgresql://leadbot:s3cr3t-pw@db/leadbot",  # the sync driver
        "sqlite:///leadbot.db",
        "leadbot.db",
    ],
)
def test_a_database_url_leadbot_cannot_use_is_named_not_a_traceback(env, monkeypatch, url):
    monkeypatch.setenv("DATABASE_URL", url)
    result = runner.invoke(app, ["migrate"])
    assert result.exit_code == 2, result.output
    assert "DATABASE_URL: use sqlite+aiosqlite:///" in result.output
    assert "Traceback" not in result.output and "s3cr3t" not in result.output


# aiosqlite's thread of the connection that failed answers its stop on the command's loop,
# closed by then: harmless in a process that ends, but a thread exception under pytest
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_database_that_cannot_be_reached_is_said_not_a_traceback(env, monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path}/no-such-folder/leadbot.db")
    result = runner.invoke(app, ["migrate"])
    for thread in threading.enumerate():  # so its exception is this test's, not the next one's
        if "_connection_worker_thread" in thread.name:
            thread.join(timeout=5)
    assert result.exit_code == 1, result.output
    assert result.output.startswith("error: the database in DATABASE_URL cannot be reached")
    assert "unable to open database file" in result.output


def test_migrate(env):
    from bot.store.migrate import head_revision

    result = invoke("migrate")
    assert result.exit_code == 0 and f"revision {head_revision()}" in result.output


def test_assign_and_reassign_from_the_shell(env, tmp_path):
    invoke("config", "apply", str(EXAMPLE))
    path = tmp_path / "one.csv"
    path.write_text("external_id,country,postcode,specialties\nz-1,DE,80331,heat-pump\n")
    invoke("leads", "import", str(path))
    ref = first_public_id(env)
    assigned = invoke("leads", "assign", ref, "epsilon-backup")
    assert assigned.exit_code == 0 and "assigned to Epsilon" in assigned.output
    again = runner.invoke(app, ["leads", "assign", ref, "acme-heating"])
    assert again.exit_code == 1 and "already accepted" in again.output
    back = invoke("leads", "reassign", ref, "gamma-haustechnik")
    assert back.exit_code == 0 and "taken back from Epsilon" in back.output
    shown = invoke("leads", "show", ref).output
    assert "reassigned" in shown and "assigned" in shown and "operator (CLI)" in shown
    assert runner.invoke(app, ["leads", "reassign", "LNOSUCH1"]).exit_code == 1


def test_report_funnel_prints_the_same_numbers_and_writes_the_chart(env, tmp_path):
    invoke("config", "apply", str(EXAMPLE))
    path = tmp_path / "two.csv"
    path.write_text(
        "external_id,country,postcode,specialties\nf-1,DE,80331,heat-pump\nf-2,DE,80333,solar\n"
    )
    invoke("leads", "import", str(path))
    chart = tmp_path / "funnel.png"
    result = invoke("report", "funnel", "--period", "7d", "--png", str(chart))
    assert result.exit_code == 0, result.output
    assert "Funnel: all partners, last 7 days (2 leads" in result.output
    assert chart.read_bytes().startswith(b"\x89PNG") and chart.stat().st_size > 10_000
    by_source = invoke("report", "funnel", "--by-source")
    assert by_source.exit_code == 0 and "csv" in by_source.output
    bad = invoke("report", "funnel", "--period", "fortnight")
    assert bad.exit_code == 1 and "'fortnight' is not a partner or a period" in bad.output
    assert "Usage: funnel [partner|all]" in bad.output
    assert invoke("report", "funnel", "--partner", "ghost").exit_code == 1


def test_members_invite_of_a_partners_member_without_partner_points_to_it(env):
    invoke("config", "apply", str(EXAMPLE))
    result = invoke("members", "invite", "Bob Rep")
    assert result.exit_code == 1
    assert "'Bob Rep' is a member of acme-heating: add --partner acme-heating" in result.output
    assert "add them under `members`" not in result.output  # they are there already


def test_report_funnel_with_a_png_it_cannot_write_says_so(env, tmp_path):
    invoke("config", "apply", str(EXAMPLE))
    path = tmp_path / "one.csv"
    path.write_text("external_id,country,postcode\nf-1,DE,80331\n")
    assert invoke("leads", "import", str(path)).exit_code == 0
    chart = tmp_path / "no-such-folder" / "funnel.png"
    result = invoke("report", "funnel", "--png", str(chart))
    assert result.exit_code == 2
    assert f"{chart}: cannot write the chart (No such file or directory)" in result.output


def test_members_invite_prints_a_code_and_the_ways_to_use_it(env, monkeypatch):
    invoke("config", "apply", str(EXAMPLE))
    monkeypatch.setenv("TELEGRAM_BOT_USERNAME", "acme_leads_bot")
    result = invoke("members", "invite", "Ada Admin")
    assert result.exit_code == 0, result.output
    code = result.output.split("Link code for Ada Admin: ")[1].split()[0]
    assert f"/lead link {code}" in result.output
    assert f"https://t.me/acme_leads_bot?start={code}" in result.output
    missing = invoke("members", "invite", "Nobody", "--partner", "acme-heating")
    assert missing.exit_code == 1
    assert "Partner 'acme-heating' has no member called 'Nobody'" in missing.output
    nobody = invoke("members", "invite", "Nobody")
    assert "The managers have no member called 'Nobody'" in nobody.output
