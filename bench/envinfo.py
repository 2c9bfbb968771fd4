"""What a benchmark ran on: the header printed above every table."""
from __future__ import annotations

import datetime
import glob
import os
import platform
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def source_state():
    """'<commit>[+dirty]' of the repository's concurrent_ext/, and a warning
    when the compiled module is older than its .pyx."""
    state = "unknown"
    try:
        head = subprocess.run(["git", "-C", REPO, "rev-parse", "--short", "HEAD"], capture_output=True,
                              text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "-C", REPO, "status", "--porcelain", "--", "concurrent_ext"],
                               capture_output=True, text=True, timeout=10).stdout.strip()
        if head:
            state = head + ("+uncommitted changes in concurrent_ext/" if dirty else "")
    except (OSError, subprocess.SubprocessError):
        pass
    warning = None
    pyx = os.path.join(REPO, "concurrent_ext", "_concurrent_c.pyx")
    sos = glob.glob(os.path.join(REPO, "concurrent_ext", "_concurrent_c.*.so"))
    if sos and os.path.exists(pyx) and max(os.path.getmtime(s) for s in sos) < os.path.getmtime(pyx):
        warning = "the compiled _concurrent_c is OLDER than _concurrent_c.pyx: rebuild it"
    return state, warning


def cpu_model():
    try:
        with open("/proc/cpuinfo") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def _loadavg():
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


def collect():
    env = {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cpus": os.cpu_count(),
        "python": "%s %s" % (platform.python_implementation(), platform.python_version()),
        "platform": platform.platform(),
        "loadavg_at_start": _loadavg(),
    }
    try:
        import cassandra
        env["driver"] = "scylla-driver %s" % cassandra.__version__
        import cassandra.concurrent as cc
        env["driver_concurrent_compiled"] = not cc.__file__.endswith(".py")
    except Exception as exc:
        env["driver"] = "unavailable (%s)" % exc
    try:
        from cassandra.cluster import DefaultConnection
        env["connection_class"] = DefaultConnection.__name__
    except Exception:
        pass
    env["source"], env["source_warning"] = source_state()
    try:
        import concurrent_ext
        env["concurrent_ext"] = concurrent_ext.__version__
        env["concurrent_ext_compiled"] = bool(concurrent_ext.USE_EXTENSIONS)
    except Exception as exc:
        env["concurrent_ext"] = "unavailable (%s: %s)" % (type(exc).__name__, exc)
        env["concurrent_ext_compiled"] = None
    return env


def header(env, server):
    compiled = env.get("concurrent_ext_compiled")
    in_use = {True: "compiled _concurrent_c in use", False: "pure _concurrent_py in use (compiled module NOT in use)",
              None: "package not importable"}[compiled]
    lines = [
        "date:            %s" % env["date"],
        "CPU:             %s (%s logical CPUs; load average %s at start)" % (
            env["cpu"], env["cpus"], "/".join(map(str, env.get("loadavg_at_start") or ["?"]))),
        "Python:          %s (%s)" % (env["python"], sys.executable),
        "driver:          %s, cassandra.concurrent %s, connection %s" % (
            env.get("driver"), "compiled" if env.get("driver_concurrent_compiled") else "pure",
            env.get("connection_class", "?")),
        "concurrent_ext:  %s (git %s), %s" % (env.get("concurrent_ext"), env.get("source"), in_use),
        "server:          %s" % server,
    ]
    if env.get("source_warning"):
        lines.append("WARNING:         %s" % env["source_warning"])
    return "\n".join(lines)


def one_line(env):
    """The header's essentials in one sentence, for generated documentation."""
    load = env.get("loadavg_at_start")
    compiled = {True: "compiled", False: "pure", None: "not importable"}[env.get("concurrent_ext_compiled")]
    return "%s; %s, %s CPUs, load average %s at start; %s; %s; concurrent_ext %s (git %s, %s)" % (
        env["date"], env["cpu"], env["cpus"], load[0] if load else "?", env["python"], env.get("driver"),
        env.get("concurrent_ext"), env.get("source"), compiled)
