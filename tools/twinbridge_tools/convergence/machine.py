"""The randomized convergence test as a hypothesis rule-based state machine: people edit both sides (every synced
field, reverts to earlier values, comments, attachments), the pipeline runs in random order with faulty deliveries
and armed crash points, and whenever the pair settles the invariants of ``model`` must hold.

``tests/convergence`` runs it with a fixed seed inside the test command; ``benchmarks/convergence.py`` runs it
longer. ``TOTALS`` counts what all runs exercised, for their reports.
"""

from __future__ import annotations

import os
from collections import Counter
from contextlib import ExitStack
from typing import Any

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from twinbridge import crashpoints
from twinbridge.models.connection import Mode
from twinbridge.models.tracker import ItemFields
from twinbridge_tools.convergence.model import Edit, ItemModel, World, current_value
from twinbridge_tools.convergence.pair import DELIVERY_MODES, SIDES, TYPES, Pair, converging_pair

MAX_ITEMS = 3
SUMMARIES = ("Printer on fire", "Printer smoking", "Printer fine", "Toner low")
LABELS = ("hardware", "urgent", "floor-3", "facilities")
# Points an apply or a send can reach in these runs (every point is swept deterministically in tests/integration).
POINTS = sorted(crashpoints.POINTS)
TOTALS: Counter[str] = Counter()

sides = st.sampled_from(SIDES)


class ConvergenceMachine(RuleBasedStateMachine):
    TRACKERS = "jira-cloud/jira-dc"  # side a (public) / side b (private): see pair.PAIRS
    MODE: Mode = "basic"  # the connection's mode; script mode runs the generated default rules

    def __init__(self) -> None:
        super().__init__()
        self._stack = ExitStack()
        self.pair: Pair = self._stack.enter_context(converging_pair(self.TRACKERS, mode=self.MODE))
        self.world = World()
        self.files = 0
        TOTALS["runs"] += 1

    def teardown(self) -> None:
        try:
            self._settle()  # points still armed crash on the way (and are recovered from) ...
            crashpoints.disarm()
            self._settle()  # ... and the pair must still have settled right
        finally:
            self._record_totals()
            self._stack.close()

    # ----------------------------------------------------------------------------------------------- people

    @precondition(lambda self: len(self.world.items) < MAX_ITEMS)
    @rule(side=sides, summary=st.sampled_from(SUMMARIES), labels=st.sets(st.sampled_from(LABELS), max_size=2))
    def create(self, side: str, summary: str, labels: set[str]) -> None:
        item = self.pair.create(side, summary, sorted(labels))
        self.world.created(self.pair, side, item.key, item.id, summary, sorted(labels))
        self._op("create")

    @precondition(lambda self: self.world.items)
    @rule(data=st.data())
    def edit_field(self, data: st.DataObject) -> None:
        item, side = self._target(data)
        name = data.draw(st.sampled_from(("summary", "labels", "description", "type")))
        earlier = [e.value for e in item.edits[name]]
        value: Any
        if data.draw(st.booleans()) and len(set(map(repr, earlier))) > 1:  # a revert to an earlier value
            value = data.draw(st.sampled_from(earlier))
            self._op("revert")
        elif name == "summary":
            value = data.draw(st.sampled_from(SUMMARIES))
        elif name == "labels":
            value = sorted(data.draw(st.sets(st.sampled_from(LABELS), max_size=3)))
        elif name == "type":
            value = data.draw(st.sampled_from(TYPES))
        else:
            value = self.world.fresh("desc")
        fields = ItemFields(description=self.pair.text(side, value)) if name == "description" else \
            ItemFields(**{name: value})
        before = current_value(self.pair, side, item.keys[side], name)
        self.pair.edit(side, item.keys[side], fields)
        if before == (sorted(value) if name == "labels" else value):
            self._op("edit to the value already there")  # no change happened: the tracker records none either
            return
        item.edits[name].append(Edit(side, value, self.world.epoch))
        self._op(f"edit {name}")

    @precondition(lambda self: self.world.items)
    @rule(data=st.data())
    def comment_add(self, data: st.DataObject) -> None:
        item, side = self._target(data)
        text = self.world.fresh("comment")
        comment = self.pair.nodes[side].person.add_comment(item.keys[side], self.pair.text(side, text))
        self.pair.notify(side, item.keys[side])
        item.comments[side][comment.id] = text
        self._op("comment add")

    @precondition(lambda self: any(item.comments[side] for item in self.world.items for side in item.keys))
    @rule(data=st.data())
    def comment_edit_or_delete(self, data: st.DataObject) -> None:
        item, side = self._target(data, lambda item, side: bool(item.comments[side]))
        comment_id = data.draw(st.sampled_from(sorted(item.comments[side])))
        person = self.pair.nodes[side].person
        if data.draw(st.booleans()):
            text = self.world.fresh("edited")
            person.update_comment(item.keys[side], comment_id, self.pair.text(side, text))
            item.comments[side][comment_id] = text
            self._op("comment edit")
        else:
            person.delete_comment(item.keys[side], comment_id)
            del item.comments[side][comment_id]
            self._op("comment delete")
        self.pair.notify(side, item.keys[side])

    @precondition(lambda self: self.world.items)
    @rule(data=st.data(), size=st.integers(min_value=1, max_value=4096))
    def attach(self, data: st.DataObject, size: int) -> None:
        item, side = self._target(data)
        self.files += 1
        name = f"file-{side}-{self.files}.bin"
        attachment_id = self.pair.attach(side, item.keys[side], name, os.urandom(size))
        item.files[side][attachment_id] = (name, size)
        self._op("attach")

    @precondition(lambda self: any(item.files[side] for item in self.world.items for side in item.keys))
    @rule(data=st.data())
    def detach(self, data: st.DataObject) -> None:
        item, side = self._target(data, lambda item, side: bool(item.files[side]))
        attachment_id = data.draw(st.sampled_from(sorted(item.files[side])))
        self.pair.nodes[side].person.delete_attachment(item.keys[side], attachment_id)
        self.pair.notify(side, item.keys[side])
        del item.files[side][attachment_id]
        self._op("detach")

    # ----------------------------------------------------------------------------------------------- the pipeline

    @rule(side=sides)
    def run_changes(self, side: str) -> None:
        self.pair.run_changes(side)

    @rule(side=sides, mode=st.sampled_from(DELIVERY_MODES))
    def deliver(self, side: str, mode: str) -> None:
        self.pair.deliver(side, mode)

    @rule(side=sides)
    def run_applies(self, side: str) -> None:
        self.pair.run_applies(side)

    @rule(side=sides)
    def redeliver_crashed(self, side: str) -> None:
        self.pair.redeliver_crashed()

    @precondition(lambda self: self.world.items)
    @rule(data=st.data())
    def spurious_change(self, data: st.DataObject) -> None:
        """A change event nobody made (a reconcile scan, a redelivered webhook, the bot's own write)."""
        item, side = self._target(data)
        self.pair.notify(side, item.keys[side])
        self._op("spurious change")

    @rule(point=st.sampled_from(POINTS), passes=st.integers(min_value=0, max_value=2))
    def arm_crash(self, point: str, passes: int) -> None:
        crashpoints.arm(point, passes=passes)
        TOTALS["crash points armed"] += 1

    @rule()
    def settle(self) -> None:
        self._settle()

    # ----------------------------------------------------------------------------------------------- helpers

    def _settle(self) -> None:
        self.pair.quiesce()
        self.world.settled(self.pair)
        problems = self.world.violations(self.pair)
        TOTALS["settles checked"] += 1
        if problems:
            TOTALS["violations"] += len(problems)
            raise AssertionError("the pair settled without converging:\n  " + "\n  ".join(problems))

    def _target(self, data: st.DataObject, wanted: Any = None) -> tuple[ItemModel, str]:
        """An item and a side that knows its key there (a copy's key is known once the pair has settled)."""
        targets = [(index, side) for index, item in enumerate(self.world.items) for side in sorted(item.keys)
                   if wanted is None or wanted(item, side)]
        index, side = data.draw(st.sampled_from(targets))
        return self.world.items[index], side

    def _op(self, kind: str) -> None:
        TOTALS["operations"] += 1
        TOTALS[f"op: {kind}"] += 1

    def _record_totals(self) -> None:
        for name, count in self.pair.stats.crashes.items():
            TOTALS[f"crash: {name}"] += count
        for mode, count in self.pair.stats.deliveries.items():
            TOTALS[f"delivery: {mode}"] += count


class AzureDevOpsConvergenceMachine(ConvergenceMachine):
    TRACKERS = "jira-cloud/azure-devops"


class ScriptModeConvergenceMachine(ConvergenceMachine):
    """Script mode with the generated rules must behave exactly as basic mode: the same walk, the same invariants."""

    TRACKERS = "jira-cloud/azure-devops"
    MODE: Mode = "script"


MACHINES = {machine.TRACKERS + ("" if machine.MODE == "basic" else f" ({machine.MODE} mode)"): machine
            for machine in (ConvergenceMachine, AzureDevOpsConvergenceMachine, ScriptModeConvergenceMachine)}
