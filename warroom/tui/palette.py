"""The command palette (ctrl+p), rebuilt from the incident's state each time it opens."""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, cast

from textual.command import DiscoveryHit, Hit, Hits, Provider

from warroom.tui.offers import all_offers

if TYPE_CHECKING:
    from warroom.tui.app import WarroomApp


class IncidentCommands(Provider):
    """"Approve gate-x", "Retry db-migrate", "Release web-fleet": what applies now."""

    def entries(self) -> list[tuple[str, str, object]]:
        app = cast("WarroomApp", self.app)
        entries: list[tuple[str, str, object]] = []
        if app.session.live:
            for offer in all_offers(app.session.state, app.session.actor):
                entries.append((offer.label, "operator command", partial(app.request, offer.action, offer.target)))
        step = app.selected
        if step is not None:
            entries.append((f"Show detail of {step}", "command, outputs, attempts, full output", app.action_detail))
        if app.check_action("inject", ()):
            entries.append(("Drill inject", "fail, slow, hold a resource or post a note (journaled)", app.action_inject))
        if app.check_action("report", ()):
            entries.append(("After-action report", "timings, critical path, waits and the review", app.action_report))
        entries.append(("Filter the log", "text, step:ID or thread:ID", app.action_filter))
        entries.append(("Show help", "keys and step states", app.action_help))
        return entries

    async def discover(self) -> Hits:
        for label, help_text, command in self.entries():
            yield DiscoveryHit(label, command, help=help_text)  # type: ignore[arg-type]

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for label, help_text, command in self.entries():
            score = matcher.match(label)
            if score > 0:
                yield Hit(score, matcher.highlight(label), command, help=help_text)  # type: ignore[arg-type]

