"""Where a walk back through one Solana address's signatures stands.

``getSignaturesForAddress`` lists newest first, so a run walks from the head down to the
address's cursor (the newest finalized signature a previous run completed), page by page.
A long walk commits as it goes: its position is the ``ref`` of the address's walk cursor
(source ``ADDRESS@walk``), so a crash resumes it instead of starting over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

WALK = "@walk"
"""Suffix of a walk cursor's source: ``ADDRESS@walk``."""


@dataclass
class Walk:
    """The position of a walk.

    ``top``: the newest finalized signature the walk has listed, which becomes the
    address's cursor when the walk ends; ``top_slot``: its slot (until one is seen, the
    slot the walk cursor already holds, which never moves back). ``before``: the oldest
    signature listed so far, where the next page starts; ``before_slot``: its slot, None
    when the walk was resumed from the database (the ref does not store it).
    """

    top: str | None = None
    top_slot: int = 0
    before: str | None = None
    before_slot: int | None = None

    @classmethod
    def resume(cls, ref: str | None, slot: int) -> Walk:
        """The walk stored as ``ref`` (see :meth:`ref`) at ``slot``; a fresh one if none."""
        if not ref:
            return cls(top_slot=slot)
        top, before = ref.split(":", 1)
        return cls(top or None, slot, before or None)

    def ref(self) -> str:
        """The form stored in the walk cursor: ``"<top>:<before>"``, top empty while none
        is known. Base58 signatures never hold a colon."""
        return f"{self.top or ''}:{self.before or ''}"

    def signatures(self) -> set[str]:
        """The signatures the position names: if one of them vanishes, the walk restarts."""
        return {s for s in (self.top, self.before) if s}

    def listed(self, page: Sequence[dict[str, Any]], final: int) -> None:
        """Take in a page: the first finalized signature becomes ``top`` if there is none
        yet (the address cursor only ever names a finalized signature, so the next run
        lists everything above it again and a rolled-back one can hide nothing)."""
        if self.top is None:
            newest_final = next((s for s in page if s["slot"] <= final), None)
            if newest_final is not None:
                self.top, self.top_slot = newest_final["signature"], newest_final["slot"]

    def page_ends_at(self, oldest: dict[str, Any]) -> None:
        """The next page starts below ``oldest``, the last entry of this page."""
        self.before, self.before_slot = oldest["signature"], oldest["slot"]

    def may_have_vanished(self, final: int) -> bool:
        """True if the position could have been rolled back: only an unfinalised one can
        (or one of unknown slot, after a resume)."""
        return self.before is not None and (self.before_slot is None or self.before_slot > final)

    def restart(self) -> None:
        """Walk again from the head; ``top_slot`` stays (the cursor never moves back)."""
        self.top, self.before, self.before_slot = None, None, None
