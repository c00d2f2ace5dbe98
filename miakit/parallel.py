"""Where a build's per-session work runs: in this process, on local worker processes, or on a
running dask.distributed cluster.

A build maps two jobs over its sessions, hashing the inputs and processing the sessions, and both go
through one :class:`SessionPool`, so on 2 workers both run in parallel and the workers start once.

Local workers are forked on Linux: a forked worker inherits this process's imports and is ready in
about 0.2 s, where a spawned one imports the scientific stack again (on a 2-core machine, two
spawned workers took 4 s, and 7 s of CPU, before their first task).
macOS and Windows keep spawn, because fork is unsafe there. The environment variable
``DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD`` chooses the start method.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterable
from typing import Any, Literal

from miakit.errors import MiakitError
from miakit.progress import progress_bar, track

# Diagnostics a build does not need. Their timers wake every process every few milliseconds (the
# statistical profiler every 10 ms, the event-loop check every 20 ms, the GIL monitor every 1 ms):
# on 2 cores, processing 96 sessions took 13.2 s without them and 15.4 s with them.
QUIET = {
    "distributed.worker.profile.enabled": False,
    "distributed.admin.tick.interval": "1s",
    "distributed.admin.system-monitor.gil.enabled": False,
    "distributed.admin.system-monitor.interval": "2s",
    "distributed.worker.memory.monitor-interval": "1s",
}


class SessionPool:
    """``SessionPool()`` runs in this process. ``SessionPool(workers=2)`` starts 2 local worker
    processes, and ``SessionPool(scheduler="tcp://host:8786")`` uses a running cluster, whose workers
    must reach the session folders. Use it in a ``with`` block: workers start on entry and stop on
    exit. Outside the block, :meth:`map` runs in this process."""

    def __init__(self, workers: int = 1, scheduler: str | None = None):
        if workers < 1:
            raise MiakitError(f"workers must be at least 1, found {workers}")
        self.workers = workers
        self.scheduler = scheduler
        self._client: Any = None
        self._cluster: Any = None

    @property
    def parallel(self) -> bool:
        return self.workers > 1 or self.scheduler is not None

    def describe(self) -> str:
        if not self.parallel:
            return "in this process"
        return "on the cluster" if self.scheduler is not None else f"on {self.workers} workers"

    def __enter__(self) -> SessionPool:
        if not self.parallel:
            return self
        try:
            import dask
            from distributed import Client, LocalCluster
        except ImportError:
            raise MiakitError(
                "--workers and --scheduler need dask.distributed: pip install 'miakit[parallel]'"
            ) from None
        if self.scheduler is not None:
            self._client = connect(self.scheduler)
            return self
        with dask.config.set({"distributed.worker.multiprocessing-method": start_method(), **QUIET}):
            self._cluster = LocalCluster(
                n_workers=self.workers, threads_per_worker=1, processes=True, dashboard_address=None
            )
        self._client = Client(self._cluster)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        if self._client is not None:
            self._client.close()
        if self._cluster is not None:
            self._cluster.close()
        self._client = self._cluster = None
        return False

    def map(
        self, fn: Callable[..., Any], *iterables: Iterable[Any], label: str, progress: bool = False, **kwargs: Any
    ) -> list[Any]:
        """``[fn(*args, **kwargs) for args in zip(*iterables)]``, in order, on the workers where the
        pool has them. A worker's error is raised here, as it would be in this process."""

        calls = list(zip(*iterables))
        if self._client is None:
            return [fn(*args, **kwargs) for args in track(calls, label, enabled=progress and bool(calls))]
        from distributed import as_completed

        futures = [self._client.submit(fn, *args, pure=False, **kwargs) for args in calls]
        if progress and futures:
            with progress_bar() as bar:
                task = bar.add_task(f"{label} {self.describe()}", total=len(futures))
                for future in as_completed(futures):
                    future.result()  # fail fast on the first error
                    bar.advance(task)
        return self._client.gather(futures)


CONNECT_TIMEOUT_S = 10.0
"""How long ``--scheduler ADDRESS`` waits for a scheduler to answer."""


def connect(address: str, *, timeout_s: float = CONNECT_TIMEOUT_S):
    """A ``distributed.Client`` of the scheduler at ``address``; a malformed address, or one where no
    scheduler answers within ``timeout_s``, is one line (and no half-made client left to complain
    at exit)."""
    import socket

    from distributed import Client
    from distributed.comm import parse_address, parse_host_port

    hint = "expected tcp://HOST:PORT, such as tcp://127.0.0.1:8786"
    try:
        protocol, location = parse_address(str(address))
        host, port = parse_host_port(location) if protocol in ("tcp", "tls") else (None, None)
    except (ValueError, TypeError) as exc:
        raise MiakitError(f"--scheduler {address!r}: not a scheduler address ({hint}; {exc})") from None
    if host is not None:
        try:
            socket.create_connection((host, port), timeout=timeout_s).close()
        except OSError as exc:
            raise MiakitError(
                f"--scheduler {address}: no scheduler answers there within "
                f"{timeout_s:g} s ({exc.strerror or exc.__class__.__name__})"
            ) from None
    try:
        return Client(address, timeout=f"{timeout_s}s")
    except (OSError, ValueError, TimeoutError, MemoryError, RuntimeError) as exc:
        raise MiakitError(
            f"--scheduler {address}: not a dask scheduler, or it did not "
            f"answer within {timeout_s:g} s ({exc.__class__.__name__})"
        ) from None


def start_method() -> str:
    """How local workers start: the environment's choice, else fork on Linux and spawn elsewhere."""
    chosen = os.environ.get("DASK_DISTRIBUTED__WORKER__MULTIPROCESSING_METHOD")
    if chosen:
        return chosen
    return "fork" if sys.platform.startswith("linux") else "spawn"
