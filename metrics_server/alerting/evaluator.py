"""The live evaluator: one at a time across all instances, holding a lease in Cassandra.

Every instance runs this thread; the one whose lightweight transaction takes the lease evaluates, the others
retry every lease/3 seconds. The holder renews at the same pace, and evaluates only while its last renewal
is younger than the lease minus a margin, so two never evaluate together; when it dies, the lease's TTL
frees the row and another instance takes it within lease + lease/3 seconds (a clean stop releases it at once).

Each group evaluates on a thread of its own, so one slow group never delays another (issue 21: one thread
served them all, and a 1 s group was evaluated every ~7 s); a group whose last evaluation still runs when the
next is due skips it, as Prometheus does. Each query of an evaluation runs under the query deadline (or the
group's interval, if shorter): a rule or template past it fails with a visible error instead of stalling.

Evaluations sit on each group's interval grid (multiples of the interval in epoch time), so a successor
continues the same schedule. After each group evaluation the state is written first, then the history, then
the notifications are queued: a successor reads ActiveAt and the last send back and neither restarts `for`
nor repeats a notification (one lost in the crash is re-sent by the resend rule, at most a resend delay later).
"""
import functools
import logging
import threading
import time
from collections.abc import Callable

from metrics_server.alerting import state as sm
from metrics_server.alerting.engine import (
    DEFAULT_RESEND_DELAY_MS,
    InstantQuery,
    Outcome,
    RuleState,
    evaluate_group,
    state_from_json,
    state_to_json,
    store,
)
from metrics_server.alerting.metrics import AlertMetrics
from metrics_server.alerting.notify import Notifier, alertmanager_alert, webhook_payload
from metrics_server.alerting.rules import Group, parse_group
from metrics_server.limits import deadline
from metrics_server.storage.alerts import AlertStore

# The server's write-back: a group's samples and the group's owner, whose creation caps what its rules make counts
# against (a token's rules make no more series than the token may); bound to each group's owner as the engine's Write.
OwnedWrite = Callable[[list[tuple[dict[str, str], int, float]], str], None]

log = logging.getLogger(__name__)
MARGIN = 0.2  # of the lease: the holder stops evaluating this long before its lease could expire
TICK = 0.25
REFRESH = 1.0  # seconds between reads of the rule groups (an API change is picked up within this)


class Evaluator(threading.Thread):
    """Competes for the lease, then evaluates every group when its time comes."""

    def __init__(self, store: AlertStore, query: InstantQuery, write: OwnedWrite | None, notifier: Notifier | None,
                 holder: str, lease_seconds: int = 15, resend_delay_ms: int = DEFAULT_RESEND_DELAY_MS,
                 external_url: str = "", metrics: AlertMetrics | None = None,
                 clock: Callable[[], float] = time.time, from_file: tuple[str, list[Group]] = ("", []),
                 timeout: float = 30.0):
        super().__init__(daemon=True, name="alert-evaluator")
        self.store, self.query, self.write, self.notifier = store, query, write, notifier
        self.holder, self.lease_seconds = holder, lease_seconds
        self.resend_delay_ms, self.external_url = resend_delay_ms, external_url
        self.metrics, self.clock, self.timeout = metrics, clock, timeout
        self.from_file = from_file  # the rule file's groups, stored once Cassandra answers
        self.stopping = threading.Event()
        self.leader = False
        self.valid_until = 0.0  # monotonic time until which our lease is certainly ours
        self.next_lease = 0.0
        self.next_refresh = 0.0
        self.groups: list[Group] = []
        self.states: dict[str, dict[str, RuleState]] = {}
        self.last: dict[str, int] = {}
        self.running: dict[str, threading.Thread] = {}  # the group evaluations in flight

    def stop(self) -> None:
        self.stopping.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self.tick()
            except Exception as error:  # Cassandra away, a bug in one group: keep the thread alive
                log.warning("alert evaluation failed: %s", error)
            self.stopping.wait(TICK)
        for thread in list(self.running.values()):
            thread.join(self.timeout)
        if self.leader:
            try:
                self.store.release(self.holder)
            except Exception as error:
                log.info("could not release the evaluator lease: %s", error)

    def tick(self) -> None:
        path, groups = self.from_file
        if groups:
            for group in groups:
                self.store.put_group(group.name, group.to_dict(), source=f"file:{path}")
            log.info("stored %d rule group(s) from %s", len(groups), path)
            self.from_file = (path, [])
        if time.monotonic() >= self.next_lease:
            self.renew()
        if not self.leader or time.monotonic() >= self.valid_until:
            return
        now = int(self.clock() * 1000)
        if time.monotonic() >= self.next_refresh:
            self.groups = [parse_group(body) for body, _, _ in self.store.groups()]
            self.next_refresh = time.monotonic() + REFRESH
        groups = self.groups
        for gone in set(self.states) - {group.name for group in groups}:
            self.retire(gone, now)
        for group in groups:
            due = now - now % group.interval_ms
            running = self.running.get(group.name)
            if self.last.get(group.name, -1) < due and (running is None or not running.is_alive()):
                thread = threading.Thread(target=self.run_group, args=(group, due), daemon=True,
                                          name=f"rules-{group.name}")
                self.running[group.name] = thread
                thread.start()

    def run_group(self, group: Group, due: int) -> None:
        """One evaluation of one group on its own thread: its state loaded first if this holder has none."""
        try:
            if group.name not in self.states:
                self.load(group, due)
            if self.last.get(group.name, -1) < due:
                self.evaluate(group, due)
        except Exception as error:  # Cassandra away, a bug in one group: the next due time tries again
            log.warning("evaluation of group %s failed: %s", group.name, error)

    def retire(self, name: str, now: int) -> None:
        """Forget a deleted group; the series its rules wrote end now (stale markers, as in Prometheus)."""
        states = self.states.pop(name, {})
        self.last.pop(name, None)
        self.running.pop(name, None)
        if self.write is not None:
            store(functools.partial(self.write, owner=""), name, "(deleted group)",
                  sm.stale([labels for state in states.values() for labels in state.written], [], now))

    def renew(self) -> None:
        """Take or renew the lease; on losing it, forget the in-memory state (the next holder owns it)."""
        asked = time.monotonic()
        self.next_lease = asked + self.lease_seconds / 3
        try:
            held, holder = self.store.acquire(self.holder, self.lease_seconds)
        except Exception as error:
            log.info("cannot reach the evaluator lease: %s", error)
            held, holder = False, None
        if held:
            self.valid_until = asked + self.lease_seconds * (1 - MARGIN)
            if not self.leader:
                log.info("%s took the evaluator lease", self.holder)
        elif self.leader:
            log.warning("%s lost the evaluator lease to %s", self.holder, holder)
            self.valid_until = 0.0  # evaluations in flight drop their outcome
        if held != self.leader:
            self.states.clear()
            self.last.clear()
        self.leader = held
        if self.metrics is not None:
            self.metrics.leader.set(1 if held else 0)

    def load(self, group: Group, now: int) -> None:
        """The group's state as the last evaluator left it (restored unless it is older than an hour)."""
        stored = {key: state_from_json(doc) for key, doc in self.store.load_state(group.name).items()}
        last = max((state.last_evaluation or -1 for state in stored.values()), default=-1)
        for state in stored.values():
            state.alerts = sm.restore(state.alerts, state.last_evaluation, now)
        self.states[group.name] = stored
        self.last[group.name] = last

    def evaluate(self, group: Group, now: int) -> Outcome:
        """Evaluate, store the state, record the history, then queue the notifications."""
        previous = self.states.get(group.name, {})
        seconds = min(self.timeout, group.interval_ms / 1000)

        def query(expr: str, at: int) -> list:
            with deadline(seconds):
                return self.query(expr, at)
        write = None if self.write is None else functools.partial(self.write, owner=group.owner)
        outcome = evaluate_group(group, previous, now, query, write, self.resend_delay_ms, self.external_url)
        if time.monotonic() >= self.valid_until:
            log.warning("lease expired during the evaluation of %s: its outcome is dropped", group.name)
            return outcome
        self.store.save_state(group.name, {key: state_to_json(state) for key, state in outcome.states.items()},
                              set(previous) - set(outcome.states))
        self.states[group.name], self.last[group.name] = outcome.states, now
        self.store.record_transitions(group.name, [(rule.key, t) for rule, t in outcome.transitions])
        self.notify(outcome)
        if self.metrics is not None:
            self.metrics.observe(group, outcome)
        return outcome

    def notify(self, outcome: Outcome) -> None:
        """Alertmanagers get every alert due; webhooks the first announcement of a firing or resolved alert."""
        if self.notifier is None or not outcome.sent:
            return
        alerts = [alertmanager_alert(alert, rule.expr, self.external_url) for rule, alert, _ in outcome.sent]
        self.notifier.submit("alertmanager", alerts, len(alerts))
        announced: dict[str, list] = {}
        for rule, alert, first in outcome.sent:
            if first:
                announced.setdefault(rule.name, []).append((alert, rule.expr))
        for name, items in announced.items():
            self.notifier.submit("webhook", webhook_payload("webhook", name, items, self.external_url), len(items))
