"""`a1rt serve --workers N`: N replica processes sharing one listening socket.

The parent binds the socket once, resolves the database once (A1RT_DATABASE_URL, or the embedded
server it starts and stops), and spawns the workers, each a full replica (its own runtime,
feature cache and models) that accepts connections on the inherited socket; they cooperate
through Redis like replicas on different machines. The parent restarts a worker that dies
(giving up, and stopping the rest, if they keep dying), and on SIGTERM/SIGINT asks every worker
to stop, waits for them, and kills any that outlast the shutdown timeout.
"""

from __future__ import annotations

import multiprocessing
import signal
import socket
import time
from collections import deque
from collections.abc import Callable
from multiprocessing.context import SpawnProcess

import anyio
import msgspec

from ..config import Settings
from ..logs import get_logger

log = get_logger(__name__)

WorkerMain = Callable[[Settings, socket.socket, int], None]  # settings, socket, worker number
RESTARTS = 5  # a worker may die this many times ...
RESTART_WINDOW = 60.0  # ... within this many seconds before the parent gives up
POLL = 0.2


def bind(settings: Settings) -> socket.socket:
    """The one listening socket every worker accepts on."""
    sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((settings.host, settings.port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


class Workers:
    """The worker processes of one `serve --workers N`."""

    def __init__(self, settings: Settings, conninfo: str, main: WorkerMain) -> None:
        # Workers use the database the parent resolved, are single replicas themselves, and
        # share one simulated world (a replica taking over shows what the last leader showed).
        start = time.time() if settings.sim_start is None else settings.sim_start
        self.settings = msgspec.structs.replace(
            settings, database_url=conninfo, workers=1, sim_start=start
        )
        self.count = settings.workers
        self.main = main
        self.processes: list[SpawnProcess] = []
        self._deaths: deque[float] = deque()
        self._context = multiprocessing.get_context("spawn")
        self.stopping = False

    async def run(self) -> int:
        """Run the workers until a signal (0) or until they keep dying (1)."""
        sock = bind(self.settings)
        try:
            self.processes = [self._spawn(sock, i) for i in range(self.count)]
            async with anyio.create_task_group() as tg:
                tg.start_soon(self._stop_on_signal)
                status = await self._watch(sock)
                tg.cancel_scope.cancel()
        finally:
            with anyio.CancelScope(shield=True):
                await self._stop_all()
            sock.close()
        return status

    def _spawn(self, sock: socket.socket, worker: int) -> SpawnProcess:
        """Start worker number `worker` (a replacement keeps the number, and so the journal
        of the one it replaces)."""
        process = self._context.Process(target=self.main, args=(self.settings, sock, worker),
                                        name=f"a1rt-worker-{worker}")  # fmt: skip
        process.start()
        log.info("worker started", pid=process.pid, worker=worker)
        return process

    async def _watch(self, sock: socket.socket) -> int:
        while not self.stopping:
            await anyio.sleep(POLL)
            for i, process in enumerate(self.processes):
                if process.exitcode is None or self.stopping:
                    continue
                log.error("worker died; restarting it", pid=process.pid, exit=process.exitcode)
                if not self._may_restart():
                    log.critical("workers keep dying; stopping", restarts=RESTARTS,
                                 window=RESTART_WINDOW)  # fmt: skip
                    return 1
                self.processes[i] = self._spawn(sock, i)
        return 0

    def _may_restart(self) -> bool:
        now = time.monotonic()
        self._deaths.append(now)
        while self._deaths and now - self._deaths[0] > RESTART_WINDOW:
            self._deaths.popleft()
        return len(self._deaths) <= RESTARTS

    async def _stop_on_signal(self) -> None:
        with anyio.open_signal_receiver(signal.SIGINT, signal.SIGTERM) as signals:
            async for signum in signals:
                log.info("stopping workers", signal=signal.Signals(signum).name)
                self.stopping = True
                return

    async def _stop_all(self) -> None:
        self.stopping = True
        for process in self.processes:
            if process.exitcode is None and process.pid is not None:
                process.terminate()  # SIGTERM: the worker's own graceful stop
        deadline = time.monotonic() + self.settings.shutdown_timeout + 2.0
        for process in self.processes:
            left = max(0.0, deadline - time.monotonic())
            await anyio.to_thread.run_sync(process.join, left)
            if process.exitcode is None:
                log.warning("worker did not stop in time; killing it", pid=process.pid)
                process.kill()
                await anyio.to_thread.run_sync(process.join, 5.0)
            log.info("worker stopped", pid=process.pid, exit=process.exitcode)
