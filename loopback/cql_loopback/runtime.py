"""The server inside its event loop: listeners, shared state, shard mapping.

Everything here runs on the loop's thread; `cql_server` drives it from a
background thread or from a child process.
"""
from __future__ import annotations

import asyncio

from cql_loopback import wire
from cql_loopback.connection import CqlConnection
from cql_loopback.engine import Engine
from cql_loopback.faults import Faults, FaultSettings
from cql_loopback.system_tables import CQL_VERSION, PARTITIONER


class ServerRuntime:
    def __init__(self, host: str, port: int, shards: int, settings: FaultSettings) -> None:
        self.host = host
        self.port = port
        self.shards = shards
        self.engine = Engine(host, scylla=shards > 0)
        self.faults = Faults(settings)
        self.answered = 0  # response frames written, all opcodes
        self.shard_aware_port = 0
        self._connections: set[CqlConnection] = set()
        self._shard_load = [0] * max(shards, 1)
        self._supported: list[bytes] = []
        self._servers: list[asyncio.AbstractServer] = []

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        main = await loop.create_server(lambda: CqlConnection(self), self.host, self.port,
                                        start_serving=False)
        self._servers.append(main)
        self.port = main.sockets[0].getsockname()[1]
        if self.shards:
            aware = await loop.create_server(lambda: CqlConnection(self, shard_aware_listener=True),
                                             self.host, 0, start_serving=False)
            self._servers.append(aware)
            self.shard_aware_port = aware.sockets[0].getsockname()[1]
        # SUPPORTED names the shard port, so it is encoded once both are bound.
        self._supported = [self._encode_supported(s) for s in range(max(self.shards, 1))]
        for server in self._servers:
            await server.start_serving()

    async def close(self) -> None:
        for server in self._servers:
            server.close()
        for connection in list(self._connections):
            connection.transport.abort()
        for server in self._servers:
            await server.wait_closed()

    def configure(self, settings: FaultSettings) -> None:
        self.faults.configure(settings)

    # -- called by connections --------------------------------------------
    def connection_opened(self, connection: CqlConnection, shard_aware_listener: bool,
                          peer_port: int) -> int | None:
        self._connections.add(connection)
        if not self.shards:
            return None
        if shard_aware_listener:
            # Scylla's contract: on the shard-aware port, the client picks the
            # shard through its source port.
            shard = peer_port % self.shards
        else:  # like Scylla, the least loaded shard
            shard = min(range(self.shards), key=self._shard_load.__getitem__)
        self._shard_load[shard] += 1
        return shard

    def connection_closed(self, connection: CqlConnection) -> None:
        if connection in self._connections:
            self._connections.discard(connection)
            if connection.shard is not None:
                self._shard_load[connection.shard] -= 1

    def supported_body(self, shard: int | None) -> bytes:
        return self._supported[shard or 0]

    def _encode_supported(self, shard: int) -> bytes:
        options = {
            "CQL_VERSION": [CQL_VERSION],
            "COMPRESSION": [],  # the driver reads this key unconditionally
            "PROTOCOL_VERSIONS": ["4/v4"],
        }
        if self.shards:
            options.update({
                "SCYLLA_SHARD": [str(shard)],
                "SCYLLA_NR_SHARDS": [str(self.shards)],
                "SCYLLA_PARTITIONER": [PARTITIONER],
                "SCYLLA_SHARDING_ALGORITHM": ["biased-token-round-robin"],
                "SCYLLA_SHARDING_IGNORE_MSB": ["12"],
                "SCYLLA_SHARD_AWARE_PORT": [str(self.shard_aware_port)],
            })
        return wire.string_multimap(options)
