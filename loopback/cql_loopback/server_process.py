"""Entry point of a CQLServer running in its own process.

Control channel: JSON lines.  The parent writes commands to our stdin; we
answer each with one line on the original stdout, which is moved away from
fd 1 so that nothing else printed can corrupt it.  EOF on stdin (the parent
went away) stops the server, so a crashed test run leaves no orphan.

Commands: {"op": "configure", "settings": {...}} -> {"ok": true}
          {"op": "stats"} -> {"cpu": seconds, "requests": n}
          {"op": "stop"}  -> {"cpu": ..., "requests": ...}, then exit
"""
from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from typing import Any

from cql_loopback.faults import FaultSettings
from cql_loopback.runtime import ServerRuntime


def main(config_json: str) -> None:
    config = json.loads(config_json)
    control_out = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def reply(message: dict[str, Any]) -> None:
        control_out.write(json.dumps(message) + "\n")

    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        runtime = ServerRuntime(config["host"], config["port"], config["shards"],
                                FaultSettings(**config["settings"]))
        loop.run_until_complete(runtime.start())
    except Exception as exc:
        reply({"error": f"{type(exc).__name__}: {exc}"})
        sys.exit(1)
    reply({"port": runtime.port, "shard_aware_port": runtime.shard_aware_port})

    pending = bytearray()

    def stats() -> dict[str, Any]:
        return {"cpu": time.process_time(), "requests": runtime.answered}

    def on_control() -> None:
        data = os.read(0, 65536)
        if not data:
            loop.stop()
            return
        pending.extend(data)
        while b"\n" in pending:
            line, _, rest = bytes(pending).partition(b"\n")
            pending[:] = rest
            command = json.loads(line)
            op = command["op"]
            try:
                if op == "configure":
                    runtime.configure(FaultSettings(**command["settings"]))
                    reply({"ok": True})
                elif op == "stats":
                    reply(stats())
                elif op == "stop":
                    loop.stop()
                    return
                else:
                    reply({"error": f"unknown op {op!r}"})
            except Exception as exc:
                reply({"error": f"{type(exc).__name__}: {exc}"})

    loop.add_reader(0, on_control)
    try:
        loop.run_forever()
    finally:
        loop.remove_reader(0)
        loop.run_until_complete(runtime.close())
        try:
            reply(stats())
        except OSError:
            pass  # the parent is gone: nobody to tell
        loop.close()


if __name__ == "__main__":
    main(sys.argv[1])
