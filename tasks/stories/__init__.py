"""Stories: one story told by five outlets is one story.

Each new article joins the story of its nearest near-duplicate among the articles of the last
N days, or starts a story of its own; matching then alerts once per (topic, story).

- minhash.py: MinHash signatures of an article's word shingles and the in-memory StoryIndex
  (LSH) that finds a stored near-duplicate; pure, no database (the page workers compute
  signatures, so it imports only numpy and regex).
- assign.py: the story stage: load the window's signatures, assign each new article, store
  the assignments; the `assign-stories` Prefect task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tasks.common.exports import lazy_exports

if TYPE_CHECKING:
    from tasks.stories.assign import StoryReport, assign_stories, stories_task
    from tasks.stories.minhash import StoryIndex, signature, similarity

__all__ = ["assign_stories", "signature", "similarity", "stories_task", "StoryIndex", "StoryReport"]
__getattr__ = lazy_exports(__name__, __file__)
