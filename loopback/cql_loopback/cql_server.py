"""CQLServer: a loopback CQL v4 server for tests and benchmarks."""
from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import selectors
import subprocess
import sys
import threading
import time
import weakref
from typing import Any, Callable, TypeVar

from cql_loopback.faults import FaultSettings
from cql_loopback.runtime import ServerRuntime

_START_TIMEOUT = 30.0
_CALL_TIMEOUT = 10.0
_T = TypeVar("_T")


class CQLServer:
    """A single-node CQL native protocol v4 server with in-memory tables.

    The real, unmodified driver connects to it (``Cluster([srv.host],
    port=srv.port)``) and can run DDL (CREATE/DROP KEYSPACE and TABLE,
    TRUNCATE), INSERT/UPDATE/DELETE/SELECT by partition key with paging,
    PREPARE/EXECUTE and BATCH.  See ``cql_parser`` for the exact CQL subset.

    Arguments:
        host: address to listen on; keep the default loopback address.
        port: port to listen on; 0 picks a free one (read ``srv.port``
            after ``start()``).
        process: run the server in a child process instead of a thread of
            this one, so that it does not compete for this process's GIL
            (use it for benchmarks).
        error_every: answer every K-th user request with the server error
            named by ``error``; 0 disables it.  User requests are
            QUERY/EXECUTE of SELECT/INSERT/UPDATE/DELETE on a user keyspace
            and BATCH; the handshake, system-table reads, USE and DDL are
            never faulted.  Counting restarts at each ``configure()``.
        error: which error ``error_every`` injects, decoded by the driver as:
            "invalid" -> InvalidRequest, "write_timeout" -> WriteTimeout,
            "read_timeout" -> ReadTimeout, "unavailable" -> Unavailable,
            "overloaded" -> OverloadedErrorMessage, "server_error" ->
            cassandra.protocol.ServerError.  The bodies are built so that
            the driver's default RetryPolicy rethrows timeouts; it still
            retries unavailable/overloaded/server errors on the next host,
            which on this one-node cluster ends in NoHostAvailable (use
            FallthroughRetryPolicy to see the error itself).
        delay: seconds to hold each user request's response back.
        close_after: close each connection once it has received this many
            user requests (the K-th is still answered; any request behind it
            in the same read is not); 0 disables it.
        drop_every: never answer every K-th user request (a client-side
            timeout then fails it with OperationTimedOut); 0 disables it.
        shards: 0 for a Cassandra look-alike; N > 0 for a ScyllaDB
            look-alike with N shards, advertised in SUPPORTED together with
            a shard-aware port (``srv.shard_aware_port``), so the driver
            opens one connection per shard.

    ``start()`` returns once listening; ``stop()`` is idempotent; the
    server is also a context manager (start on enter, stop on exit)::

        with CQLServer(process=True) as srv:
            cluster = Cluster([srv.host], port=srv.port, protocol_version=4,
                              compression=False)  # no compression is offered
            session = cluster.connect()
            ...
            cpu = srv.cpu_time()  # take differences around the measured part
            cluster.shutdown()
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *, process: bool = False,
                 error_every: int = 0, error: str = "invalid", delay: float = 0.0,
                 close_after: int = 0, drop_every: int = 0, shards: int = 0) -> None:
        if not isinstance(shards, int) or shards < 0:
            raise ValueError(f"shards must be an int >= 0, not {shards!r}")
        if process and sys.platform == "win32":
            # The child's control channel is select()/add_reader() on pipes,
            # which Windows supports only for sockets.
            raise NotImplementedError("CQLServer(process=True) is not supported on Windows; "
                                      "use the default thread mode")
        self.host = host
        self.port = port
        self.shard_aware_port = 0
        self.process = process
        self.shards = shards
        self._settings = FaultSettings(error_every=error_every, error=error, delay=delay,
                                       close_after=close_after, drop_every=drop_every)
        self._runner: _ThreadRunner | _ProcessRunner | None = None
        self._final_stats: tuple[float, int] | None = None
        self._lock = threading.Lock()

    def start(self) -> CQLServer:
        with self._lock:
            if self._runner is not None:
                raise RuntimeError("CQLServer already started")
            runner = _ProcessRunner() if self.process else _ThreadRunner()
            self.port, self.shard_aware_port = runner.start(self.host, self.port, self.shards, self._settings)
            self._runner = runner
            self._final_stats = None
            return self

    def configure(self, **settings: Any) -> None:
        """Change any of error_every, error, delay, close_after, drop_every;
        in effect for every request the server reads after this returns."""
        with self._lock:
            new = self._settings.updated(**settings)
            if self._runner is not None:
                self._runner.configure(new)
            self._settings = new

    def cpu_time(self) -> float:
        """CPU seconds used so far by the server: its thread, or its whole
        process (start-up included) in process mode.  Take differences."""
        return self._stats()[0]

    def requests(self) -> int:
        """Responses sent so far (handshake and system queries included;
        dropped requests excluded)."""
        return self._stats()[1]

    def stop(self) -> None:
        with self._lock:
            runner, self._runner = self._runner, None
            if runner is not None:
                self._final_stats = runner.stop()

    def _stats(self) -> tuple[float, int]:
        with self._lock:
            if self._runner is not None:
                return self._runner.stats()
            return self._final_stats or (0.0, 0)

    def __enter__(self) -> CQLServer:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        state = "running" if self._runner is not None else "stopped"
        mode = "process" if self.process else "thread"
        return f"<CQLServer {self.host}:{self.port} {mode} {state}>"


class _ThreadRunner:
    """The server's event loop on a daemon thread of this process."""

    def start(self, host: str, port: int, shards: int, settings: FaultSettings) -> tuple[int, int]:
        self._loop = asyncio.new_event_loop()
        self._runtime = ServerRuntime(host, port, shards, settings)
        self._final: tuple[float, int] | None = None
        started: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._thread = threading.Thread(target=self._main, args=(started,),
                                        name=f"cql-loopback-{host}:{port}", daemon=True)
        self._thread.start()
        started.result(timeout=_START_TIMEOUT)
        return self._runtime.port, self._runtime.shard_aware_port

    def _main(self, started: concurrent.futures.Future[None]) -> None:
        loop = self._loop
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._runtime.start())
        except BaseException as exc:
            loop.close()
            started.set_exception(exc)
            return
        started.set_result(None)
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(self._runtime.close())
            self._final = (time.thread_time(), self._runtime.answered)
            loop.close()

    def _call(self, fn: Callable[..., _T], *args: Any) -> _T:
        """Run fn on the loop thread and return its result."""
        done: concurrent.futures.Future[_T] = concurrent.futures.Future()

        def call() -> None:
            try:
                done.set_result(fn(*args))
            except BaseException as exc:
                done.set_exception(exc)

        self._loop.call_soon_threadsafe(call)
        return done.result(timeout=_CALL_TIMEOUT)

    def configure(self, settings: FaultSettings) -> None:
        self._call(self._runtime.configure, settings)

    def stats(self) -> tuple[float, int]:
        # thread_time() must run on the server's own thread to measure it.
        return self._call(self._stats_on_loop)

    def _stats_on_loop(self) -> tuple[float, int]:
        return time.thread_time(), self._runtime.answered

    def stop(self) -> tuple[float, int]:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(_CALL_TIMEOUT)
        if self._thread.is_alive():
            raise RuntimeError("loopback CQL server thread did not stop")
        return self._final or (0.0, 0)


class _ProcessRunner:
    """The server in a child Python process, driven over its stdin/stdout."""

    def start(self, host: str, port: int, shards: int, settings: FaultSettings) -> tuple[int, int]:
        config = {"host": host, "port": port, "shards": shards, "settings": settings.as_dict()}
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "cql_loopback.server_process", json.dumps(config)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, close_fds=True)
        # Kill the child if this object is dropped without stop().
        self._finalizer = weakref.finalize(self, _kill, self._proc)
        self._pending = b""
        try:
            reply = self._read_reply(_START_TIMEOUT)
        except BaseException:
            self._finalizer()
            raise
        return reply["port"], reply["shard_aware_port"]

    def _send(self, command: dict[str, Any], timeout: float = _CALL_TIMEOUT) -> dict[str, Any]:
        stdin = self._proc.stdin
        assert stdin is not None  # Popen(stdin=PIPE)
        stdin.write(json.dumps(command).encode() + b"\n")
        stdin.flush()
        return self._read_reply(timeout)

    def _read_reply(self, timeout: float) -> dict[str, Any]:
        assert self._proc.stdout is not None  # Popen(stdout=PIPE)
        fd = self._proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        with selectors.DefaultSelector() as selector:
            selector.register(fd, selectors.EVENT_READ)
            while b"\n" not in self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0 or not selector.select(remaining):
                    raise TimeoutError("loopback CQL server process did not answer")
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError(f"loopback CQL server process exited (code {self._proc.poll()})")
                self._pending += chunk
        line, _, self._pending = self._pending.partition(b"\n")
        reply: dict[str, Any] = json.loads(line)
        if "error" in reply:
            raise RuntimeError(f"loopback CQL server process: {reply['error']}")
        return reply

    def configure(self, settings: FaultSettings) -> None:
        self._send({"op": "configure", "settings": settings.as_dict()})

    def stats(self) -> tuple[float, int]:
        reply = self._send({"op": "stats"})
        return reply["cpu"], reply["requests"]

    def stop(self) -> tuple[float, int]:
        try:
            reply = self._send({"op": "stop"})
            self._proc.wait(_CALL_TIMEOUT)
            return reply["cpu"], reply["requests"]
        finally:
            self._finalizer()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    """Make sure the child is gone and its pipes are closed."""
    if proc.poll() is None:
        proc.kill()
        proc.wait()
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            stream.close()
