"""Operator actions shared by the CLI and `serve`: applying config, importing, showing."""

from __future__ import annotations

from pathlib import Path

from bot.bootstrap import Services
from bot.policy_file import load_file


async def apply_config(services: Services, path: Path) -> int:
    """Validate and apply a leadbot.yaml as a new policy version (all or nothing)."""
    config, document = load_file(path)
    async with services.uow() as uow:
        version = await uow.config.apply(
            config, document, source_file=str(path), now=services.ctx.now()
        )
        await uow.commit()
    return version
