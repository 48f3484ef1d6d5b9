"""Checks across entries of leadbot.yaml (unique slugs and chat identities, reachable partners).

They work on the raw document so they can be reported together with field errors.
"""

from __future__ import annotations

from typing import Any


def _entries(value: Any) -> list[tuple[int, dict[str, Any]]]:
    return (
        [(i, v) for i, v in enumerate(value) if isinstance(v, dict)]
        if isinstance(value, list)
        else []
    )


def _member_problems(
    where: str,
    members: Any,
    identities: dict[tuple[str, str, str], str],
    *,
    team: Any,
    stored: bool,
) -> list[str]:
    problems = []
    names: dict[str, int] = {}
    for j, member in _entries(members):
        name = member.get("name")
        if isinstance(name, str) and name in names and not stored:
            problems.append(
                f"{where}.members[{j}].name: '{name}' is already {where}.members[{names[name]}]"
                " (members invite and cards find people by name)"
            )
        if isinstance(name, str):
            names.setdefault(name, j)
        if member.get("slack") is None and member.get("telegram") is None:
            problems.append(f"{where}.members[{j}]: needs a slack or a telegram id")
        if member.get("slack_team") is not None and member.get("slack") is None:
            problems.append(f"{where}.members[{j}].slack_team: goes with a slack user id")
        for platform in ("slack", "telegram"):
            ext = member.get(platform)
            if ext is None:
                continue
            # Slack ids are keyed by workspace: the member's, else its partner's, else ours
            space = str(member.get("slack_team") or team or "") if platform == "slack" else ""
            key = (platform, space, str(ext))
            if key in identities:
                problems.append(
                    f"{where}.members[{j}].{platform}: {ext} is already {identities[key]}"
                )
            identities.setdefault(key, f"{where}.members[{j}]")
        role = member.get("role")
        if where == "managers" and role not in (None, "manager"):
            problems.append(f"managers.members[{j}].role: managers have the role 'manager'")
        if where != "managers" and role == "manager":
            problems.append(
                f"{where}.members[{j}].role: partner members are partner_admin or partner_rep"
            )
    return problems


def cross_check(document: dict[str, Any], *, stored: bool = False) -> list[str]:
    """Problems that no single field shows, as 'path: reason'; `stored`: an applied
    configuration read back (see policy_fields._stored)."""
    problems: list[str] = []
    identities: dict[tuple[str, str, str], str] = {}
    policy = document.get("policy")
    if isinstance(policy, dict) and policy.get("decline_reasons") == []:
        problems.append("policy.decline_reasons: needs at least one reason")
    managers = document.get("managers")
    if isinstance(managers, dict):
        problems += _member_problems(
            "managers",
            managers.get("members"),
            identities,
            team=managers.get("slack_team"),
            stored=stored,
        )
    seen: dict[str, int] = {}
    for i, partner in _entries(document.get("partners")):
        slug = partner.get("slug")
        if isinstance(slug, str):  # any other (a list, a mapping) is a field error already
            if slug in seen:
                problems.append(
                    f"partners[{i}].slug: '{slug}' is already used by partners[{seen[slug]}]"
                )
            seen.setdefault(slug, i)
        if partner.get("slack_channel") is None and partner.get("telegram_chat") is None:
            problems.append(
                f"partners[{i}]: needs a slack_channel or a telegram_chat to receive offers"
            )
        problems += _member_problems(
            f"partners[{i}]",
            partner.get("members"),
            identities,
            team=partner.get("slack_team"),
            stored=stored,
        )
    if not stored:  # added since configurations were first applied: those still read back
        problems += _form_problems(document.get("forms"))
    return problems


def _form_problems(forms: Any) -> list[str]:
    # a form is found by its key (POST /api/v1/forms/<key>): of two with one key, the second
    # would never be used
    problems: list[str] = []
    keys: dict[str, int] = {}
    for i, form in _entries(forms):
        key = form.get("key")
        if isinstance(key, str) and key in keys:
            problems.append(f"forms[{i}].key: '{key}' is already used by forms[{keys[key]}]")
        elif isinstance(key, str):
            keys[key] = i
    return problems
