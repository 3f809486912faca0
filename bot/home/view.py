"""The App Home tab: the person's desk as it stands now (bot/home/flow.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.home.figures import week_metrics
from bot.home.flow import desk_view
from models.db import read_scope

if TYPE_CHECKING:
    from bot.deps import Deps


def home_view(user_id: str, deps: Deps) -> dict[str, Any]:
    """`user_id`'s desk (unpublished): what the Home tab would show them now."""
    figures = deps.home.figures if deps.home is not None else week_metrics
    with read_scope(deps.engine) as session:
        return desk_view(session, deps.settings, deps.clock.now(), user_id, figures=figures)
