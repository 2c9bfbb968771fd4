"""Run a throw-away single-node Apache Cassandra for the integration tests.

    ci/cassandra start    download (once), start, wait until CQL answers
    ci/cassandra stop     stop the node started here, delete its data
    ci/cassandra status   exit 0 if 127.0.0.1:9042 answers CQL, 3 if not
    ci/cassandra kill     SIGKILL the node (a crash), keep its data
    ci/cassandra restart  start again on the same data (stopping it first if it runs)

(ci/cassandra is the wrapper that runs this file with python3; the file is
not named cassandra.py because that name would shadow the driver's package.)

Needs Python 3 (stdlib only), a JDK 17 and Maven 3.  The runtime classpath
(cassandra-all and its ~100 dependencies, ~70 MB) is resolved from Maven
Central through ci/cassandra-pom.xml and cached under ci/.cassandra/<version>/
with a marker file, so only the first start downloads.  The node listens on
127.0.0.1 only (CQL 9042, storage 7000), keeps its data in a temporary
directory that `stop` deletes, and runs with test-only speed-ups (no fsync,
no gossip settling): never point it at data you care about.

Readiness of the node started here is read from its own log: the port
accepts connections and system.log says "Startup complete" for this launch
(CI runs this script with a bare python3, without the driver).  With
CASSANDRA_PROBE=driver, or for `status` of a node not started here, the
Python driver runs `SELECT release_version FROM system.local` when it is
importable.

Environment (all optional):
  CASSANDRA_VERSION        cassandra-all version (default 5.0.8)
  CASSANDRA_HEAP           -Xmx (default 1g)
  CASSANDRA_HEAP_INITIAL   -Xms (default 256m; set it to CASSANDRA_HEAP for benchmarks)
  CASSANDRA_START_TIMEOUT  seconds to wait for CQL (default 180)
  CASSANDRA_JAVA           the java executable (must be JDK 17)
  CASSANDRA_JVM_OPTS       extra JVM options, appended (e.g. "-Xms4g -Xmx4g")
  CASSANDRA_PROBE          auto | driver | log  (readiness: auto = the log for our node, else the driver;
                           the former `raw` client is gone, `raw` now means `log`)
  CASSANDRA_HOME_DIR       cache and state directory (default ci/.cassandra)
  MVN                      the maven executable (default: mvn on PATH)
"""
from __future__ import annotations

import contextlib
import fcntl
import glob
import hashlib
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

HERE = Path(__file__).resolve().parent
POM = HERE / "cassandra-pom.xml"
LOGBACK = HERE / "cassandra-logback.xml"

VERSION = os.environ.get("CASSANDRA_VERSION", "5.0.8")
HOME = Path(os.environ.get("CASSANDRA_HOME_DIR") or HERE / ".cassandra").resolve()
DIST = HOME / VERSION  # lib/ + marker, shared by every start
STATE = HOME / "node"  # pid, conf/, logs/, pointer to the data directory
# Max heap 1 GiB: the test data is a few MB and the node shares 2 cores with the
# tests.  Initial heap 256 MiB: as root, Cassandra's JNA mlockall() pins every
# page committed at start-up, so -Xms1g costs ~1.5 s of start and 1.4 GiB RSS
# from the first second (measured); the heap still grows to -Xmx on demand.
HEAP = os.environ.get("CASSANDRA_HEAP", "1g")
HEAP_INITIAL = os.environ.get("CASSANDRA_HEAP_INITIAL", "256m")
START_TIMEOUT = float(os.environ.get("CASSANDRA_START_TIMEOUT", "180"))
STOP_TIMEOUT = 30.0
HOST = "127.0.0.1"
NATIVE_PORT = 9042
STORAGE_PORT = 7000
JAVA_MAJOR = 17
MAVEN_TIMEOUT = 900
MAVEN_DEPENDENCY_PLUGIN = "org.apache.maven.plugins:maven-dependency-plugin:3.8.1"
TAIL_LINES = 40

EXIT_DOWN = 3


def say(msg: str) -> None:
    print(f"ci/cassandra: {msg}", file=sys.stderr, flush=True)


class Failure(Exception):
    """Fatal: message printed, exit status 1."""


# --------------------------------------------------------------------------
# Classpath from Maven Central


def _pom_digest() -> str:
    return hashlib.sha256(POM.read_bytes()).hexdigest()[:16]


def ensure_classpath() -> Path:
    """Return DIST/lib, resolving it with Maven unless the marker says it is there."""
    lib = DIST / "lib"
    marker = DIST / ".complete"
    want = f"cassandra-all {VERSION} pom {_pom_digest()}\n"
    if marker.is_file() and marker.read_text() == want and lib.is_dir():
        return lib
    mvn = os.environ.get("MVN") or shutil.which("mvn")
    if not mvn:
        raise Failure("Maven (mvn) not found on PATH; install Maven 3 or set MVN")
    DIST.mkdir(parents=True, exist_ok=True)
    partial = DIST / "lib.partial"
    shutil.rmtree(partial, ignore_errors=True)
    cmd = [
        mvn, "-B", "-q", "-f", str(POM),
        f"{MAVEN_DEPENDENCY_PLUGIN}:copy-dependencies",
        "-DincludeScope=runtime",
        f"-Dcassandra.version={VERSION}",
        f"-DoutputDirectory={partial}",
    ]
    say(f"resolving cassandra-all {VERSION} from Maven Central: {' '.join(cmd)}")
    t0 = time.monotonic()
    try:
        proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True, timeout=MAVEN_TIMEOUT)
    except subprocess.TimeoutExpired:
        raise Failure(f"maven did not finish within {MAVEN_TIMEOUT} s") from None
    if proc.returncode != 0 or not list(partial.glob(f"cassandra-all-{VERSION}.jar")):
        tail = "\n".join(proc.stdout.splitlines()[-TAIL_LINES:])
        raise Failure(f"maven failed (exit {proc.returncode}):\n{tail}")
    shutil.rmtree(lib, ignore_errors=True)
    partial.rename(lib)
    marker.write_text(want)
    jars = list(lib.glob("*.jar"))
    size = sum(j.stat().st_size for j in jars) / 2**20
    say(f"downloaded {len(jars)} jars ({size:.0f} MiB) in {time.monotonic() - t0:.1f} s into {lib}")
    return lib


# --------------------------------------------------------------------------
# Java


def _java_major(java: str) -> int | None:
    try:
        out = subprocess.run([java, "-XshowSettings:properties", "-version"],
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=30).stderr
    except (OSError, subprocess.SubprocessError):
        return None
    m = re.search(r"java\.specification\.version = (\d+)(?:\.(\d+))?", out)
    if not m:
        return None
    major = int(m.group(1))
    return int(m.group(2)) if major == 1 and m.group(2) else major


def find_java() -> str:
    """A JDK 17 java: CASSANDRA_JAVA, JAVA_HOME, JAVA_HOME_17_*, PATH, /usr/lib/jvm."""
    candidates = []
    if os.environ.get("CASSANDRA_JAVA"):
        java = os.environ["CASSANDRA_JAVA"]
        major = _java_major(java)
        if major != JAVA_MAJOR:
            raise Failure(f"CASSANDRA_JAVA={java} is Java {major}, Cassandra {VERSION} here needs {JAVA_MAJOR}")
        return java
    for var in ("JAVA_HOME", "JAVA_HOME_17_X64", "JAVA_HOME_17_ARM64"):
        if os.environ.get(var):
            candidates.append(os.path.join(os.environ[var], "bin", "java"))
    on_path = shutil.which("java")
    if on_path:
        candidates.append(on_path)
    candidates += sorted(glob.glob("/usr/lib/jvm/*17*/bin/java")) + sorted(glob.glob("/usr/lib/jvm/*/bin/java"))
    seen: list[tuple[str, int | None]] = []
    for java in candidates:
        real = os.path.realpath(java)
        if real in (s for s, _ in seen) or not os.access(real, os.X_OK):
            continue
        major = _java_major(real)
        seen.append((real, major))
        if major == JAVA_MAJOR:
            return real
    found = ", ".join(f"{j} (Java {m})" for j, m in seen) or "none"
    # JDK 24+ cannot run Cassandra at all (System.setSecurityManager throws).
    raise Failure(f"no JDK {JAVA_MAJOR} found (tried: {found}); install openjdk-17 or set CASSANDRA_JAVA")


# --------------------------------------------------------------------------
# Readiness: one CQL query


def _probe() -> str:
    mode = os.environ.get("CASSANDRA_PROBE", "auto")
    if mode not in ("auto", "driver", "log", "raw"):
        raise Failure(f"CASSANDRA_PROBE={mode!r}: choose auto, driver or log")
    return "log" if mode == "raw" else mode


def _driver_available() -> bool:
    try:
        import cassandra.cluster  # noqa: F401
    except ImportError:
        if _probe() == "driver":
            raise Failure("CASSANDRA_PROBE=driver but the Python driver is not importable") from None
        return False
    return True


def release_version(timeout: float = 5.0) -> str:
    """`SELECT release_version FROM system.local` through the driver; raises if it fails."""
    import logging

    from cassandra.cluster import Cluster

    logging.getLogger("cassandra").setLevel(logging.CRITICAL)  # no start-up chatter
    cluster = Cluster([HOST], port=NATIVE_PORT, connect_timeout=timeout, control_connection_timeout=timeout)
    try:
        session = cluster.connect()
        return str(session.execute("SELECT release_version FROM system.local", timeout=timeout).one()[0])
    finally:
        cluster.shutdown()


def log_size() -> int:
    """Where this launch's lines of system.log start (logback appends)."""
    try:
        return (LOG_DIR / "system.log").stat().st_size
    except OSError:
        return 0


def started_from_log(offset: int) -> str | None:
    """The node's version once its log, from ``offset`` on, says CQL is up; else None."""
    try:
        with open(LOG_DIR / "system.log", "rb") as fh:
            fh.seek(offset)
            text = fh.read().decode(errors="replace")
    except OSError:
        return None
    launch = text.rfind("Cassandra version: ")  # the last launch in the text: after a restart, the new one
    text = text[max(launch, 0):]
    if "Startup complete" not in text or "listening for CQL clients" not in text:
        return None
    m = re.match(r"Cassandra version: (\S+)", text)
    return m.group(1) if m else VERSION


def port_open(port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((HOST, port), timeout=timeout):
            return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# Node state: pid file, data directory pointer, logs


PID_FILE = STATE / "pid"
DATA_FILE = STATE / "datadir"
LOG_DIR = STATE / "logs"
CONF_DIR = STATE / "conf"


def _proc_state(pid: int) -> str | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[0]


def _is_our_node(pid: int) -> bool:
    """Alive (not a zombie) and really the CassandraDaemon started from STATE."""
    state = _proc_state(pid)
    if state is None or state in ("Z", "X"):
        return False
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    return b"org.apache.cassandra.service.CassandraDaemon" in cmdline and any(
        str(CONF_DIR).encode() in arg for arg in cmdline)


def recorded_pid() -> int | None:
    try:
        return int(PID_FILE.read_text().strip())
    except (OSError, ValueError):
        return None


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def tail(path: Path, n: int = TAIL_LINES) -> str:
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return f"({path} not found)"
    return "\n".join(lines[-n:])


def print_logs() -> None:
    system_log = LOG_DIR / "system.log"
    console = LOG_DIR / "console.log"
    print(f"----- last {TAIL_LINES} lines of {system_log} -----", file=sys.stderr)
    print(tail(system_log), file=sys.stderr)
    # The console has WARN+ (already in system.log) and what the JVM itself
    # printed (bad flags, errors before logging starts): show only the latter.
    try:
        seen = set(system_log.read_text(errors="replace").splitlines())
    except OSError:
        seen = set()
    try:
        extra = [ln for ln in console.read_text(errors="replace").splitlines()
                 if ln not in seen and not ln.startswith("WARNING: ") and not ln.startswith("\tat ")]
    except OSError:
        extra = []
    if extra:
        print(f"----- JVM output not in system.log ({console}), last 20 lines -----", file=sys.stderr)
        print("\n".join(extra[-20:]), file=sys.stderr)
    sys.stderr.flush()


def remove_data() -> None:
    try:
        data = Path(DATA_FILE.read_text().strip())
    except OSError:
        data = None
    if data and data.name.startswith("concurrent-ext-cassandra-"):
        shutil.rmtree(data, ignore_errors=True)
    for f in (DATA_FILE, PID_FILE):
        with contextlib.suppress(FileNotFoundError):
            f.unlink()


@contextlib.contextmanager
def locked() -> Iterator[None]:
    """Serialise start/stop of this checkout (two `start`s in parallel give one node)."""
    HOME.mkdir(parents=True, exist_ok=True)
    with open(HOME / ".lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


# --------------------------------------------------------------------------
# cassandra.yaml and the JVM command line


def write_conf(data: Path) -> Path:
    CONF_DIR.mkdir(parents=True, exist_ok=True)
    yaml = f"""\
# Written by ci/cassandra: single test node, data in a temporary directory.
cluster_name: concurrent_ext_ci
num_tokens: 1
partitioner: org.apache.cassandra.dht.Murmur3Partitioner
endpoint_snitch: SimpleSnitch
seed_provider:
  - class_name: org.apache.cassandra.locator.SimpleSeedProvider
    parameters:
      - seeds: "{HOST}:{STORAGE_PORT}"
listen_address: {HOST}
rpc_address: {HOST}
storage_port: {STORAGE_PORT}
native_transport_port: {NATIVE_PORT}
start_native_transport: true
commitlog_sync: periodic
commitlog_sync_period: 10s
commitlog_segment_size: 8MiB
data_file_directories:
  - {data}/data
commitlog_directory: {data}/commitlog
saved_caches_directory: {data}/saved_caches
hints_directory: {data}/hints
cdc_raw_directory: {data}/cdc_raw
auto_snapshot: false
incremental_backups: false
authenticator: AllowAllAuthenticator
authorizer: AllowAllAuthorizer
user_defined_functions_enabled: true
materialized_views_enabled: true
sasi_indexes_enabled: true
drop_compact_storage_enabled: true
"""
    path = CONF_DIR / "cassandra.yaml"
    path.write_text(yaml)
    shutil.copyfile(LOGBACK, CONF_DIR / "logback.xml")
    return path


_ADD_EXPORTS = [
    "java.base/jdk.internal.misc", "java.management.rmi/com.sun.jmx.remote.internal.rmi",
    "java.management/com.sun.jmx.remote.security", "java.rmi/sun.rmi.registry",
    "java.rmi/sun.rmi.server", "java.sql/java.sql", "java.base/java.lang.ref",
    "jdk.unsupported/sun.misc", "jdk.compiler/com.sun.tools.javac.file", "jdk.attach/sun.tools.attach",
]
_ADD_OPENS = [
    "java.base/java.lang.module", "java.base/jdk.internal.loader", "java.base/jdk.internal.ref",
    "java.base/jdk.internal.reflect", "java.base/jdk.internal.math", "java.base/jdk.internal.module",
    "java.base/jdk.internal.util.jar", "jdk.management/com.sun.management.internal",
    "java.base/sun.nio.ch", "java.base/java.io", "java.base/java.nio", "java.base/java.lang.reflect",
    "jdk.compiler/com.sun.tools.javac", "java.base/java.lang", "java.base/java.util",
]


def java_command(java: str, lib: Path, yaml: Path, data: Path) -> list[str]:
    cmd = [
        java,
        # conf/jvm-server.options (without AlwaysPreTouch: slow start)
        "-ea", "-da:net.openhft...", "-XX:+UseThreadPriorities", "-Xss256k",
        "-XX:+UseTLAB", "-XX:+ResizeTLAB", "-XX:+PerfDisableSharedMem",
        "-Djava.net.preferIPv4Stack=true", "-XX:+ExitOnOutOfMemoryError",
        # conf/jvm17-server.options: G1
        "-XX:+UseG1GC", "-XX:+ParallelRefProcEnabled", "-XX:MaxTenuringThreshold=1",
        "-XX:MaxGCPauseMillis=300",
        f"-Xms{HEAP_INITIAL}", f"-Xmx{HEAP}",
        "-Djdk.attach.allowAttachSelf=true",
        *(a for m in _ADD_EXPORTS for a in ("--add-exports", f"{m}=ALL-UNNAMED")),
        *(a for m in _ADD_OPENS for a in ("--add-opens", f"{m}=ALL-UNNAMED")),
        "-Dio.netty.tryReflectionSetAccessible=true",
        "-Dio.netty.allocator.useCacheForAllThreads=true",
        "-Dio.netty.allocator.maxOrder=11",
        # Cassandra
        f"-Dcassandra.config={yaml.as_uri()}",
        "-Dcassandra-foreground=yes",
        f"-Dcassandra.storagedir={data}",
        f"-Dcassandra.logdir={LOG_DIR}",
        f"-Dlogback.configurationFile={CONF_DIR / 'logback.xml'}",
        # test-only start-up and durability shortcuts
        "-Dcassandra.skip_sync=true",
        "-Dcassandra.unsafesystem=true",
        "-Dcassandra.skip_wait_for_gossip_to_settle=0",
        "-Dcassandra.ring_delay_ms=1000",
        "-Dcassandra.size_recorder_interval=0",
        "-Dcassandra.superuser_setup_delay_ms=0",
        "-Dcassandra.shutdown_announce_in_ms=0",
        "-Dchronicle.announcer.disable=true",
    ]
    cmd += os.environ.get("CASSANDRA_JVM_OPTS", "").split()  # last one wins, e.g. -Xmx4g
    jamm = sorted(lib.glob("jamm-*.jar"))
    if jamm:
        cmd.append(f"-javaagent:{jamm[-1]}")
    cmd += ["-cp", f"{CONF_DIR}:{lib}/*", "org.apache.cassandra.service.CassandraDaemon"]
    return cmd


# --------------------------------------------------------------------------
# Commands


def _wait_ready(pid: int, popen: subprocess.Popen[bytes] | None, t0: float, log_offset: int) -> str:
    """Poll until CQL answers; raise Failure if the JVM dies or time runs out."""
    deadline = t0 + START_TIMEOUT
    use_driver = _probe() == "driver" and _driver_available()
    last_err = "port closed"
    while time.monotonic() < deadline:
        dead = popen.poll() is not None if popen is not None else not _is_our_node(pid)
        if dead:
            code = f" with exit status {popen.returncode}" if popen is not None else ""
            raise Failure(f"Cassandra (pid {pid}) exited{code} during start-up")
        if port_open(NATIVE_PORT):
            if not use_driver:
                version = started_from_log(log_offset)
                if version is not None:
                    return version
                last_err = "port open, no 'Startup complete' in system.log yet"
            else:
                try:
                    return release_version()
                except Exception as exc:  # noqa: BLE001 - any failure means "not yet"
                    last_err = f"{type(exc).__name__}: {exc}"
        time.sleep(0.5)
    raise Failure(f"CQL did not answer within {START_TIMEOUT:.0f} s (last error: {last_err})")


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _is_our_node(pid):
            return True
        time.sleep(0.1)
    return not _is_our_node(pid)


def _kill(pid: int) -> None:
    """SIGTERM, wait up to STOP_TIMEOUT, then SIGKILL; only if it is our node."""
    if not _is_our_node(pid):
        return
    os.kill(pid, signal.SIGTERM)
    if _wait_gone(pid, STOP_TIMEOUT):
        return
    say(f"pid {pid} still alive after {STOP_TIMEOUT:.0f} s: SIGKILL")
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
    _wait_gone(pid, 10)


def _data_dir() -> Path | None:
    try:
        data = Path(DATA_FILE.read_text().strip())
    except OSError:
        return None
    return data if data.name.startswith("concurrent-ext-cassandra-") and data.is_dir() else None


def _launch(data: Path, t0: float, fresh: bool) -> int:
    """Start the JVM on ``data`` (a new directory, or the one of the previous
    launch) and wait for CQL; on failure stop it, and delete a fresh ``data``."""
    for port in (NATIVE_PORT, STORAGE_PORT):
        if port_open(port):
            raise Failure(
                f"{HOST}:{port} is already in use by a process not started by ci/cassandra; "
                "stop it, or point the tests at it with CONCURRENT_EXT_TEST_HOSTS")
    lib = ensure_classpath()
    t_dl = time.monotonic()
    java = find_java()
    STATE.mkdir(parents=True, exist_ok=True)
    DATA_FILE.write_text(f"{data}\n")
    if fresh:
        shutil.rmtree(LOG_DIR, ignore_errors=True)
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    offset = log_size()
    yaml = write_conf(data)
    cmd = java_command(java, lib, yaml, data)
    (STATE / "command").write_text(" ".join(cmd) + "\n")
    with open(LOG_DIR / "console.log", "ab") as console:
        popen = subprocess.Popen(cmd, cwd=STATE, stdin=subprocess.DEVNULL, stdout=console,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    PID_FILE.write_text(f"{popen.pid}\n")
    say(f"started {java} (pid {popen.pid}, heap {HEAP_INITIAL}..{HEAP}, data {data}); waiting for CQL on "
        f"{HOST}:{NATIVE_PORT} (at most {START_TIMEOUT:.0f} s)")
    try:
        version = _wait_ready(popen.pid, popen, t_dl, offset)
    except Failure as exc:
        say(str(exc))
        print_logs()
        _kill(popen.pid)
        popen.poll()
        if fresh:
            remove_data()
        raise Failure("start failed; logs kept in " + str(LOG_DIR)) from None
    now = time.monotonic()
    rss = rss_mib(popen.pid) or 0.0
    say(f"Cassandra {version} up on {HOST}:{NATIVE_PORT} (pid {popen.pid}) in "
        f"{now - t_dl:.1f} s (total {now - t0:.1f} s), RSS {rss:.0f} MiB")
    return 0


def cmd_start() -> int:
    t0 = time.monotonic()
    with locked():
        pid = recorded_pid()
        if pid is not None and _is_our_node(pid):
            say(f"node already running (pid {pid}); waiting for CQL")
            try:
                version = _wait_ready(pid, None, t0, 0)
            except Failure as exc:
                say(str(exc))
                print_logs()
                _kill(pid)
                remove_data()
                raise Failure("start failed; logs kept in " + str(LOG_DIR)) from None
            say(f"Cassandra {version} up on {HOST}:{NATIVE_PORT} (pid {pid}, already running)")
            return 0
        if pid is not None:
            say(f"stale state of pid {pid} (not running): cleaning up")
        remove_data()
        return _launch(Path(tempfile.mkdtemp(prefix="concurrent-ext-cassandra-")), t0, fresh=True)


def cmd_stop() -> int:
    with locked():
        pid = recorded_pid()
        if pid is None or not _is_our_node(pid):
            remove_data()
            say("no node running")
            return 0
        t0 = time.monotonic()
        _kill(pid)
        if _is_our_node(pid):
            raise Failure(f"pid {pid} survived SIGKILL")
        remove_data()
        say(f"stopped pid {pid} in {time.monotonic() - t0:.1f} s; data removed, logs in {LOG_DIR}")
    return 0


def cmd_kill() -> int:
    """A crash: SIGKILL at once, no shutdown; the data stays for `restart`."""
    with locked():
        pid = recorded_pid()
        if pid is None or not _is_our_node(pid):
            raise Failure("no node started by ci/cassandra is running")
        os.kill(pid, signal.SIGKILL)
        if not _wait_gone(pid, 10):
            raise Failure(f"pid {pid} survived SIGKILL")
        PID_FILE.unlink(missing_ok=True)
        say(f"killed pid {pid} (SIGKILL); data kept in {_data_dir()}; `ci/cassandra restart` starts it again")
    return 0


def cmd_restart() -> int:
    t0 = time.monotonic()
    with locked():
        data = _data_dir()
        if data is None:
            raise Failure("no data of a previous node to restart on: use `ci/cassandra start`")
        pid = recorded_pid()
        if pid is not None and _is_our_node(pid):
            _kill(pid)
            if _is_our_node(pid):
                raise Failure(f"pid {pid} survived SIGKILL")
            say(f"stopped pid {pid}, keeping its data")
        PID_FILE.unlink(missing_ok=True)
        return _launch(data, t0, fresh=False)


def cmd_status() -> int:
    pid = recorded_pid()
    ours = pid is not None and _is_our_node(pid)
    where = f"{HOST}:{NATIVE_PORT}"
    rss = (rss_mib(pid) if pid is not None and ours else None) or 0.0
    if not port_open(NATIVE_PORT):
        state = f"pid {pid} running but not listening" if ours else "not running"
        print(f"down: {where} does not accept connections ({state})")
        return EXIT_DOWN
    if ours and _probe() != "driver":
        version = started_from_log(0)
        if version is None:
            print(f"down: {where} is open but pid {pid} has not logged 'Startup complete'")
            return EXIT_DOWN
        print(f"up: Cassandra {version} on {where} (pid {pid}, RSS {rss:.0f} MiB; from its log)")
        return 0
    if not _driver_available():
        print(f"up: {where} accepts connections (not started by ci/cassandra; CQL not checked: "
              "the Python driver is not importable)")
        return 0
    try:
        version = release_version(timeout=5.0)
    except Exception as exc:  # noqa: BLE001
        print(f"down: {where} does not answer CQL ({type(exc).__name__}: {exc})")
        return EXIT_DOWN
    print(f"up: Cassandra {version} on {where} ({f'pid {pid}' if ours else 'not started by ci/cassandra'})")
    return 0


COMMANDS = {"start": cmd_start, "stop": cmd_stop, "status": cmd_status, "kill": cmd_kill, "restart": cmd_restart}


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[1] not in COMMANDS:
        print(f"usage: ci/cassandra {'|'.join(COMMANDS)}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[argv[1]]()
    except Failure as exc:
        say(f"error: {exc}")
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
