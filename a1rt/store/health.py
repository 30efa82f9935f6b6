"""The `storage` health component, as the persister sees the database."""

from __future__ import annotations

from ..health import HealthRegistry, Status

COMPONENT = "storage"


class StorageHealth:
    """Down until PostgreSQL first answers (so the replica is not ready yet); ok while writes
    succeed; degraded while it is unreachable again (rows wait in memory and the journal,
    serving goes on); down while even the journal cannot be written."""

    def __init__(self, registry: HealthRegistry | None) -> None:
        self._registry = registry
        self._status: Status | None = None
        self._answered = False
        if registry is not None:
            registry.register(COMPONENT, needed_for_ready=True, detail="connecting to PostgreSQL")

    def writing(self) -> None:
        """PostgreSQL answered and took what was sent."""
        self._answered = True
        self._set(Status.OK, "writing to PostgreSQL")

    def unreachable(self, reason: str) -> None:
        """A write or maintenance attempt failed for a reason outside the rows."""
        status = Status.DEGRADED if self._answered else Status.DOWN
        self._set(status, f"PostgreSQL unreachable ({reason}); rows kept in memory and journal")

    def journal_failed(self, reason: str) -> None:
        """Rows could not be written to the journal either."""
        self._set(Status.DOWN, f"journal unwritable ({reason}); rows kept in memory only")

    def _set(self, status: Status, detail: str) -> None:
        if status is self._status:
            return
        self._status = status
        if self._registry is not None:
            self._registry.report(COMPONENT, status, detail)
