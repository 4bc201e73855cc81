"""stories."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.stories.assign import stories_task
    from tasks.stories.minhash import signature

__all__ = ["signature", "stories_task"]
__getattr__ = lazy_exports(__name__, __file__)
