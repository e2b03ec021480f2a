"""Rows of a filtered audit log by position (0 = newest), a keyset page at a time.

Made for a virtual view over millions of entries (Toolong's model): the view asks for the rows
it shows, the pager answers from a small LRU of pages or says which page is missing, and how to
fetch it from the nearest page it holds (keyset: ``older_than`` the last entry above, or
``newer_than`` the first entry below). Only a jump far from every held page (``G``, a long drag
of the scrollbar) falls back to OFFSET.

The pager does no I/O and holds no lock: the view plans a :class:`PageRequest` on its own
thread, a worker runs it against the service, and the view stores the answer. A pager serves
one filter and one snapshot (``ceiling``: entries appended later do not shift the positions);
a new filter or a refresh makes a new pager, so a late answer for an old one is dropped by the
caller comparing pagers.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from js7tui.audit.log import AuditEntry
from js7tui.audit.query import AuditFilter, AuditKey


@dataclass(frozen=True)
class PageRequest:
    """One page to fetch: the arguments for ``query.page`` beside the filter."""

    index: int
    limit: int
    older_than: AuditKey | None = None
    newer_than: AuditKey | None = None
    offset: int = 0
    nearest_newer: bool = False

    def arguments(self) -> dict[str, object]:
        return {"limit": self.limit, "older_than": self.older_than,
                "newer_than": self.newer_than, "offset": self.offset,
                "nearest_newer": self.nearest_newer}


def snapshot_ceiling(newest: AuditKey | None) -> AuditKey | None:
    """The exclusive upper bound that keeps ``newest`` itself in view."""
    return None if newest is None else AuditKey(newest.created, newest.id + 1)


class AuditPager:
    def __init__(self, filter: AuditFilter, ceiling: AuditKey | None, *, page_size: int = 100,
                 max_pages: int = 64) -> None:
        self.filter = filter
        self.ceiling = ceiling
        self.page_size = page_size
        self.max_pages = max_pages
        self._pages: OrderedDict[int, list[AuditEntry]] = OrderedDict()
        self._pending: set[int] = set()
        # Exactly known once counted, or once a short (last) page was seen.
        self.total: int | None = 0 if ceiling is None else None

    # -- what the view shows --------------------------------------------------------------
    @property
    def known_rows(self) -> int:
        """Rows to give the scroll area: the total when known, else what is loaded plus one
        page (so scrolling down asks for more)."""
        if self.total is not None:
            return self.total
        if not self._pages:
            return 0
        return (max(self._pages) + 2) * self.page_size

    def entry(self, position: int) -> AuditEntry | None:
        index, within = divmod(position, self.page_size)
        page = self._pages.get(index)
        if page is None or within >= len(page):
            return None
        self._pages.move_to_end(index)
        return page[within]

    def missing(self, first: int, last: int) -> list[int]:
        """Page indexes needed for rows ``first..last`` that are neither held nor requested."""
        if self.total is not None:
            last = min(last, self.total - 1)
        if last < first or first < 0:
            return []
        wanted = range(first // self.page_size, last // self.page_size + 1)
        return [i for i in wanted if i not in self._pages and i not in self._pending]

    # -- fetching ---------------------------------------------------------------------------
    def plan(self, index: int) -> PageRequest:
        """How to fetch page ``index`` from the nearest page held (marks it pending)."""
        self._pending.add(index)
        size = self.page_size
        above = self._pages.get(index - 1)
        below = self._pages.get(index + 1)
        if index == 0:
            return PageRequest(index, size, older_than=self.ceiling)
        if above is not None and len(above) == size:
            return PageRequest(index, size, older_than=AuditKey.of(above[-1]))
        if below:
            return PageRequest(index, size, older_than=self.ceiling,
                               newer_than=AuditKey.of(below[0]), nearest_newer=True)
        if self.total is not None and index * size * 2 > self.total:
            # Nearer the oldest end: count from there (G costs a page, not a million skips).
            end = min((index + 1) * size, self.total)
            return PageRequest(index, end - index * size, older_than=self.ceiling,
                               offset=self.total - end, nearest_newer=True)
        return PageRequest(index, size, older_than=self.ceiling, offset=index * size)

    def store(self, request: PageRequest, entries: list[AuditEntry]) -> None:
        """Keep a fetched page; a short page from the top fixes the total."""
        self._pending.discard(request.index)
        if not request.nearest_newer and len(entries) < request.limit:
            self.total = request.index * self.page_size + len(entries)
        if entries:
            self._pages[request.index] = entries
            self._pages.move_to_end(request.index)
        while len(self._pages) > self.max_pages:
            self._pages.popitem(last=False)

    def forget(self, request: PageRequest) -> None:
        """A fetch failed: let the page be asked for again."""
        self._pending.discard(request.index)

    def set_total(self, total: int) -> None:
        self.total = total
        for index in [i for i in self._pages if i * self.page_size >= total]:
            del self._pages[index]
