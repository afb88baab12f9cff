"""A deployment: the champion, an optional canary or shadow, how traffic splits, and hot swaps.

Each role is a slot holding a loaded version and its micro-batcher. A request picks its slot once, and
keeps it to the end, so swapping a slot never drops a request in flight: the old batcher finishes what
it has queued and is then closed. A slot given by alias (``churn@champion``) is watched: every
``poll_interval`` seconds the alias is resolved again, and a newly promoted (or rolled-back) version is
loaded, warmed up and swapped in, with no restart.

A server started without ``--canary`` or ``--shadow`` also follows the registry's canary of its model
(``Models.start_canary``): each poll reads it, loads a newly started one into the canary slot with its
share of traffic, and removes it once it ends. The poll, not the request, reads the registry: choosing a
slot costs the same with or without a canary.

The server tells the truth about the gate: at load and at every swap it asks the store whether the version
it serves under a protected alias holds a passing verdict under the policy in force. If not, it keeps
serving (a policy change must not take production down) but reports ``shipyard_gate_passed 0``, logs a
warning, and ``/schema`` says why. A canary or shadow given on the command line takes live traffic, so it
needs a passing verdict to be loaded at all.
"""

from __future__ import annotations

import asyncio
import logging
import random
import zlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shipyard.core.entities import Canary, ModelVersion
from shipyard.core.errors import GateBlocked, InvalidInput, ShipyardError
from shipyard.core.refs import parse_ref
from shipyard.serving.batching import MicroBatcher
from shipyard.serving.model import ServedModel

if TYPE_CHECKING:
    from shipyard.serving.metrics import ServerMetrics
    from shipyard.tracking import Client

log = logging.getLogger("shipyard.serving")


@dataclass(frozen=True)
class ServeOptions:
    """What to serve and how; ``shipyard serve`` builds it from its options."""

    ref: str
    project: str | None = None
    canary: str | None = None
    canary_share: float = 0.0
    shadow: str | None = None
    poll_interval: float = 5.0
    max_body_bytes: int = 4 * 1024 * 1024
    max_rows: int = 10_000
    max_batch_rows: int = 256
    log_predictions: bool = True
    log_segment_seconds: float = 60.0
    """The longest a logged prediction waits before its segment is written (see ``PredictionLog``)."""
    trust_unsafe: bool = False
    """Load pickle-based (``python_function``) versions; unpickling runs code from the package."""
    follow_registry_canary: bool = True
    """Serve the registry's running canary of the model (without ``canary`` or ``shadow`` only)."""
    load_in_child_process: bool = False
    """Load each version in a short-lived child process when its flavor's loader outweighs the model
    (``load_model(separate_process=True)``), so the server never holds the loader; ``shipyard serve`` does."""

    def __post_init__(self) -> None:
        if self.canary and self.shadow:
            raise InvalidInput("Serve a challenger as a canary or as a shadow, not both.")
        if self.canary and not 0 < self.canary_share < 1:
            raise InvalidInput(f"The canary's share of traffic must be between 0 and 1; got {self.canary_share!r}.")
        if self.poll_interval <= 0 or self.max_body_bytes <= 0 or self.max_rows <= 0 or self.max_batch_rows <= 0:
            raise InvalidInput("poll_interval, max_body_bytes, max_rows and max_batch_rows must be positive.")


def parse_canary(spec: str) -> tuple[str, float]:
    """``churn@challenger:10`` → (``churn@challenger``, 0.10)."""
    ref, sep, percent = spec.rpartition(":")
    if not sep:
        raise InvalidInput(f"--canary takes NAME@VERSION_OR_ALIAS:PERCENT, e.g. churn@challenger:10; got {spec!r}.")
    try:
        share = float(percent) / 100
    except ValueError:
        raise InvalidInput(f"--canary {spec!r}: {percent!r} is not a percentage (e.g. 10 for 10 %).") from None
    if not 0 < share < 1:
        raise InvalidInput(f"--canary {spec!r}: the percentage must be between 0 and 100 (exclusive).")
    return ref, share


def require_live_verdict(client: Client, role: str, ref: str, version: ModelVersion) -> None:
    """``GateBlocked`` unless ``version`` (served as ``ref`` in ``role``: canary or shadow) holds a passing verdict
    under the policy in force: a role that takes live traffic needs one, as a protected alias does."""
    decision = client.backend.verdicts.decision(version.project, version.id)
    if not decision.allowed:
        raise GateBlocked(
            f"{ref} ({version.ref}) may not take live traffic as a {role}: {decision.reason}. A {role} needs a "
            f"passing verdict under the gate policy in force; run `shipyard gate run {version.ref}`."
        )


@dataclass
class Slot:
    role: str
    ref: str
    served: ServedModel
    batcher: MicroBatcher
    watched: bool = field(default=False)
    share: float = field(default=0.0)
    """The canary's share of traffic (unused in other roles)."""


class Deployment:
    def __init__(self, client: Client, options: ServeOptions, metrics: ServerMetrics) -> None:
        self.client = client
        self.options = options
        self.metrics = metrics
        self.champion: Slot | None = None
        self.canary: Slot | None = None
        self.shadow: Slot | None = None
        self.ready = False
        self._watch: asyncio.Task[None] | None = None
        self.follows_registry_canary = options.follow_registry_canary and not (options.canary or options.shadow)

    # lifecycle -----------------------------------------------------------------------------------

    def load(self) -> None:
        """Resolve and load every role's version (blocking; before the server takes traffic)."""
        self.champion = self._slot("champion", self.options.ref)
        if self.options.canary:
            self.canary = self._slot("canary", self.options.canary)
            self.canary.share = self.options.canary_share
        if self.options.shadow:
            self.shadow = self._slot("shadow", self.options.shadow)
        self._report_gate(self.champion.served)
        if self.follows_registry_canary:
            try:
                wanted = self._registry_canary()
                self.canary = None if wanted is None else self._canary_slot(wanted)
            except Exception:  # the champion serves regardless; the next poll tries again
                log.exception("Loading the registry's canary failed; serving the champion alone for now")

    async def start(self) -> None:
        for slot in self.slots():
            slot.batcher.start()
            self.metrics.model_version.labels(slot.served.name, slot.role).set(slot.served.number)
        if self.follows_registry_canary or any(slot.watched for slot in self.slots()):
            self._watch = asyncio.get_running_loop().create_task(self._watch_aliases(), name="alias watcher")
        self.ready = True

    async def stop(self) -> None:
        self.ready = False
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
        for slot in self.slots():
            await slot.batcher.close()

    def slots(self) -> list[Slot]:
        return [s for s in (self.champion, self.canary, self.shadow) if s is not None]

    # traffic -------------------------------------------------------------------------------------

    def choose(self, entity: str | None) -> Slot:
        """The slot that answers: the canary for its share of traffic (the same entity always lands on the
        same side when ``X-Entity-Id`` is sent), the champion otherwise."""
        assert self.champion is not None
        canary = self.canary  # read once: a poll may replace it between two reads
        if canary is None:
            return self.champion
        if entity is not None:
            bucket = zlib.crc32(entity.encode()) % 10_000
            return canary if bucket < canary.share * 10_000 else self.champion
        return canary if random.random() < canary.share else self.champion  # traffic split, not crypto

    # loading and swapping ------------------------------------------------------------------------

    def _slot(self, role: str, ref: str) -> Slot:
        version = self.client.models.get(ref, project=self.options.project)
        if role != "champion":
            self._require_verdict(role, ref, version)
        served = self._load(version, ref)
        batcher = self._batcher(served)
        return Slot(role, ref, served, batcher, watched=parse_ref(ref).alias is not None)

    def _resolve(self, ref: str) -> ModelVersion:
        return self.client.models.get(ref, project=self.options.project)

    def _load(self, version: ModelVersion, ref: str) -> ServedModel:
        passed, reason = self._gate_status(version, ref)
        from shipyard.registry.packages import load_package

        loaded = load_package(
            self.client.backend.blobs,
            version.artifact_digest,
            trust_unsafe=self.options.trust_unsafe,
            what=version.ref,
            separate_process=self.options.load_in_child_process,
        )
        return ServedModel(version, loaded, gate_passed=passed, gate_reason=reason)

    def _gate_status(self, version: ModelVersion, ref: str) -> tuple[bool, str]:
        """Whether the gate vouches for serving ``version`` as ``ref``, from the store's state now."""
        alias = parse_ref(ref).alias
        protected = self.client.backend.registry.protected_aliases(version.project)
        if alias is None or alias not in protected:
            listing = ", ".join(sorted(protected)) or "none"
            return False, f"{ref} is not a protected alias of the policy in force ({listing})"
        decision = self.client.backend.verdicts.decision(version.project, version.id)
        if decision.allowed:
            return True, f"{version.ref} holds a passing verdict under the policy in force ({decision.reason})"
        overridden = (
            f"; it holds {alias!r} by an admin's override ({version.gate_override})" if version.gate_override else ""
        )
        return False, f"{version.ref} holds no passing verdict under the policy in force: {decision.reason}{overridden}"

    def _require_verdict(self, role: str, ref: str, version: ModelVersion) -> None:
        require_live_verdict(self.client, role, ref, version)

    def _report_gate(self, served: ServedModel) -> None:
        self.metrics.gate_passed.set(1 if served.gate_passed else 0)
        if not served.gate_passed:
            log.warning("champion: the gate does not vouch for what is served: %s", served.gate_reason)

    def _batcher(self, served: ServedModel) -> MicroBatcher:
        return MicroBatcher(
            served,
            max_batch_rows=self.options.max_batch_rows,
            on_batch=self.metrics.batch_rows.observe,
            scores=self.options.log_predictions,  # only the log reads them
        )

    async def _watch_aliases(self) -> None:
        while True:
            await asyncio.sleep(self.options.poll_interval)
            try:
                await self.refresh()
            except ShipyardError as exc:  # the store or server may be briefly unreachable: keep serving
                log.warning("Checking the served aliases or the canary failed (%s); serving the current versions", exc)
            except Exception:
                log.exception("Checking the served aliases or the canary failed; serving the current versions")

    async def refresh(self) -> list[str]:
        """Re-resolve every watched alias and swap in versions that changed, then follow the registry's canary.

        Returns the roles that changed: a version swapped in, or the canary started, changed or ended. An
        alias that fails to load does not hold up the canary (ending one must reach servers regardless).
        """
        # Not try/finally: a cancellation (the server stopping) must not run the canary check, whose own error
        # would replace the CancelledError and keep the watcher polling through shutdown.
        failed: Exception | None = None
        try:
            swapped = await self._refresh_aliases()
        except Exception as exc:
            swapped, failed = [], exc
        changed = self.follows_registry_canary and await self._sync_canary()
        if failed is not None:
            raise failed
        return [*swapped, "canary"] if changed else swapped

    async def _refresh_aliases(self) -> list[str]:
        loop = asyncio.get_running_loop()
        swapped = []
        for slot in self.slots():
            if not slot.watched:
                continue
            version = await loop.run_in_executor(None, self._resolve, slot.ref)
            if version.version == slot.served.number and version.name == slot.served.name:
                continue
            if slot.role != "champion":
                try:
                    await loop.run_in_executor(None, self._require_verdict, slot.role, slot.ref, version)
                except GateBlocked as blocked:
                    log.error(
                        "%s: keeping %s; not swapping in %s: %s",
                        slot.role,
                        slot.served.version.ref,
                        version.ref,
                        blocked,
                    )
                    continue
            served = await loop.run_in_executor(None, self._load, version, slot.ref)
            batcher = self._batcher(served)
            batcher.start()
            old = slot.batcher
            slot.served, slot.batcher = served, batcher  # new requests go to the new version from here
            await old.close()  # requests already queued on the old one finish there
            self.metrics.model_version.labels(served.name, slot.role).set(served.number)
            self.metrics.swaps.labels(slot.role).inc()
            if slot.role == "champion":
                self._report_gate(served)
            log.warning("%s: now serving %s@%s (%s)", slot.role, served.name, served.number, slot.ref)
            swapped.append(slot.role)
        return swapped

    # the registry's canary -----------------------------------------------------------------------

    def _registry_canary(self) -> Canary | None:
        """The registry's running canary of the champion's model, unless it is the version the champion serves."""
        assert self.champion is not None
        served = self.champion.served
        running = self.client.models.canary(served.name, project=served.version.project)
        return None if running is None or running.version == served.number else running

    def _canary_slot(self, canary: Canary) -> Slot:
        version = self.client.models.get(canary.ref, project=canary.project)
        served = self._load(version, canary.ref)
        return Slot("canary", canary.ref, served, self._batcher(served), share=canary.share)

    async def _sync_canary(self) -> bool:
        """Make the canary slot what the registry says; True if it changed."""
        loop = asyncio.get_running_loop()
        wanted = await loop.run_in_executor(None, self._registry_canary)
        current = self.canary
        if wanted is None and current is None:
            return False
        if wanted is not None and current is not None and current.served.number == wanted.version:
            if current.share == wanted.share:
                return False
            current.share = wanted.share
            log.warning("canary: %s now takes %g%% of traffic", current.ref, wanted.share * 100)
            return True
        slot = None if wanted is None else await loop.run_in_executor(None, self._canary_slot, wanted)
        if slot is not None:
            slot.batcher.start()
        self.canary = slot  # new requests choose from here on
        if current is not None:
            await current.batcher.close()  # requests already queued on it finish there
            self.metrics.model_version.remove(current.served.name, "canary")
        if slot is None:
            assert current is not None
            log.warning("canary: %s removed (its canary ended in the registry)", current.ref)
            return True
        self.metrics.model_version.labels(slot.served.name, "canary").set(slot.served.number)
        self.metrics.swaps.labels("canary").inc()
        log.warning("canary: now serving %s to %g%% of traffic", slot.ref, slot.share * 100)
        return True
