"""`leadbot routing replay|why|who` and `leadbot geo import`, as an operator runs them."""

from __future__ import annotations

from pathlib import Path

import yaml

from tests.e2e.test_cli import EXAMPLE, env, first_public_id, invoke  # noqa: F401 (fixture)
from tests.factories import config, partner

LEADS = "external_id,country,postcode,specialties\n" + "".join(
    f"r-{i},DE,80{331 + i},heat-pump\n" for i in range(12)
)


def _import(tmp_path: Path, text: str = LEADS) -> None:
    path = tmp_path / "leads.csv"
    path.write_text(text)
    assert invoke("leads", "import", str(path)).exit_code == 0


def test_replay_compares_a_candidate_policy_with_what_happened(env, tmp_path):  # noqa: F811
    current = tmp_path / "current.yaml"
    current.write_text(yaml.safe_dump(config([partner("acme"), partner("beta")])))
    invoke("config", "apply", str(current))
    _import(tmp_path)
    candidate = tmp_path / "candidate.yaml"
    candidate.write_text(
        yaml.safe_dump(
            config(
                [
                    partner("acme", weight=3),
                    partner("beta"),
                    partner("newco", territories=["DE:8033"]),
                ]
            )
        )
    )
    result = invoke("routing", "replay", "--since", "30d", "--config", str(candidate))
    assert result.exit_code == 0, result.output
    out = result.output
    assert "Replay of 12 leads from the last 30d with" in out
    cells = [
        [c.strip() for c in line.split("│")[1:-1]]
        for line in out.splitlines()
        if line.startswith("│")
    ]
    rows = {c[0]: c[1:] for c in cells if c[0] in ("acme", "beta", "newco")}
    assert set(rows) == {"acme", "beta", "newco"}
    assert sum(int(r[0]) for r in rows.values()) == 12  # would get
    assert sum(int(r[2]) for r in rows.values()) == 0  # nobody accepted anything yet
    assert "would end unassigned: 0" in out
    unchanged = invoke("routing", "replay")
    assert "with the current policy" in unchanged.output


def test_replay_counts_unassigned_leads_and_why(env, tmp_path):  # noqa: F811
    current = tmp_path / "current.yaml"
    current.write_text(yaml.safe_dump(config([partner("acme")])))
    invoke("config", "apply", str(current))
    _import(
        tmp_path,
        "external_id,country,postcode,specialties\nx-1,DE,10115,heat-pump\nx-2,DE,80331,welding\n",
    )
    out = invoke("routing", "replay").output
    assert "would end unassigned: 2" in out
    assert "1 × no partner covers it" in out and "1 × nobody does the specialty" in out


def test_who_and_why_from_the_shell(env, tmp_path):  # noqa: F811
    invoke("config", "apply", str(EXAMPLE))
    who = invoke("routing", "who", "80331", "heat-pump")
    assert who.exit_code == 0
    assert who.output.startswith("1. ") and "beta-solar dropped by specialties" in who.output
    _import(tmp_path, "external_id,country,postcode,specialties\nq-1,DE,80331,heat-pump\n")
    why = invoke("routing", "why", first_public_id(env))
    assert why.exit_code == 0 and why.output.startswith("Round 1: offered to ")
    assert "beta-solar dropped by specialties: does not do heat-pump" in why.output
    assert invoke("routing", "why", "LNOSUCH1").exit_code == 1


def test_geo_import(env, tmp_path):  # noqa: F811
    geonames = tmp_path / "DE.txt"
    rows = [
        [
            "DE",
            "85221",
            "Dachau",
            "Bayern",
            "BY",
            "Obb",
            "091",
            "Dachau",
            "09174",
            "48.26",
            "11.43",
        ],
        [
            "DE",
            "85221",
            "Dachau Ost",
            "Bayern",
            "BY",
            "Obb",
            "091",
            "Dachau",
            "09174",
            "48.27",
            "11.44",
        ],
        [
            "DE",
            "80331",
            "München",
            "Bayern",
            "BY",
            "Obb",
            "091",
            "München",
            "09162",
            "48.1372",
            "11.5755",
        ],
    ]
    geonames.write_text("".join("\t".join([*row, "4"]) + "\n" for row in rows))
    result = invoke("geo", "import", str(geonames))
    assert result.exit_code == 0 and "DE: 2 postcodes" in result.output
    bad = tmp_path / "bad.txt"
    bad.write_text("DE\t80331\tMünchen\n")
    broken = invoke("geo", "import", str(bad))
    assert broken.exit_code == 2 and "line 1: expected 12 tab-separated columns" in broken.output


def test_replay_with_a_bad_since_says_so_and_exits_2(env, tmp_path):  # noqa: F811
    result = invoke("routing", "replay", "--since", "90x")
    assert result.exit_code == 2
    assert "'90x' is not a duration; use a number and s, m, h or d, like 30m" in result.output


def test_geo_import_of_a_missing_file_names_the_file_not_the_database(env, tmp_path):  # noqa: F811
    result = invoke("geo", "import", str(tmp_path / "DE.txt"))
    assert result.exit_code == 2
    assert "No such file or directory" in result.output and "database" not in result.output


def test_geo_import_of_a_file_not_in_utf8_names_file_and_line(env, tmp_path):  # noqa: F811
    geonames = tmp_path / "DE.txt"
    row = "DE\t{}\t{}\tBayern\tBY\tObb\t091\tDachau\t09174\t48.26\t11.43\t4\n"
    text = row.format("85221", "Dachau") + row.format("80331", "München")
    geonames.write_bytes(text.encode("cp1252"))
    result = invoke("geo", "import", str(geonames))
    assert result.exit_code == 2
    assert f"{geonames}: line 2: is not UTF-8 text" in result.output


def test_who_reads_a_specialty_in_any_case_as_leads_are_routed(env):  # noqa: F811
    invoke("config", "apply", str(EXAMPLE))
    lower = invoke("routing", "who", "80331", "heat-pump")
    upper = invoke("routing", "who", "80331", "Heat-Pump")
    assert upper.exit_code == 0 and upper.output == lower.output


def test_who_with_a_country_no_lead_can_have_says_so(env):  # noqa: F811
    invoke("config", "apply", str(EXAMPLE))
    country = invoke("routing", "who", "SW1A1AA", "--country", "UK")
    assert country.exit_code == 2, country.output
    assert "--country: 'UK' is not a country code" in country.output and "GB" in country.output
    assert "Nobody covers it" not in country.output


def test_replay_names_a_candidate_file_with_brackets_as_it_is(env, tmp_path):  # noqa: F811
    invoke("config", "apply", str(EXAMPLE))
    candidate = tmp_path / "leadbot[v2].yaml"
    candidate.write_text(EXAMPLE.read_text())
    result = invoke("routing", "replay", "--config", str(candidate))
    assert result.exit_code == 0
    assert f"with {candidate}" in result.output.replace("\n", "")


def test_geo_import_refuses_a_place_off_the_globe(env, tmp_path):  # noqa: F811
    """A latitude of 999 (or nan) would put every lead of that postcode nowhere near a partner
    with a radius, or break the distance; the file is refused naming the line."""
    geonames = tmp_path / "DE.txt"
    row = "DE\t{}\tDachau\tBayern\tBY\tObb\t091\tDachau\t09174\t{}\t{}\t4\n"
    for lat, lon in (("999", "11.43"), ("48.26", "-181"), ("nan", "11.43"), ("48.26", "inf")):
        geonames.write_text(row.format("85221", "48.26", "11.43") + row.format("80331", lat, lon))
        result = invoke("geo", "import", str(geonames))
        assert result.exit_code == 2, (lat, lon, result.output)
        assert f"{geonames}: line 2: latitude/longitude" in result.output


def test_replay_since_longer_than_the_calendar_replays_everything(env):  # noqa: F811
    invoke("config", "apply", str(EXAMPLE))
    result = invoke("routing", "replay", "--since", "1000000d")
    assert result.exit_code == 0, result.output
    assert "Replay of 0 leads" in result.output
