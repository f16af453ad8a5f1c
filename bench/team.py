#!/usr/bin/env python3
"""Team-mode benchmark: the real slate binary on a shared PostgreSQL store,
against the embedded local store, in the same run (issue 19).

    cargo build --release && python3 bench/team.py [--runs 3] [--lines 2000000] [--smoke]

Needs the `psql` CLI and a PostgreSQL server that lets role `postgres` in
without a password (trust) on --pg-host:--pg-port. The script creates a
database of its own (slate_bench_<pid>) and a login role for the second
"machine" (slate_bench_b_<pid>), and drops both at the end, whatever
happened. A "machine" is a SLATE_HOME of its own: A drives the team runs
(as role postgres, granted `run`), B watches and steers them from the team
store only (as its own role, granted `steer`), L holds the local-store runs
(no SLATE_STORE). Everything runs on this host, so A, B and the server share
its cores: the figures include that contention, not a network.

  1. flood: a stage prints --lines lines of about 100 bytes as fast as it can
     (assets/bench/flood.toml), `slate run --headless` with stdout to
     /dev/null, timed from the fork to the exit. Three variants, an untimed
     warm-up of each, then --runs each, interleaved round by round (the
     order rotates every round): the local store (baseline), the team store,
     and the team store with a cockpit attached read-only from B (`slate
     attach RUN --read-only` in a pty whose output is drained and discarded;
     it is started as soon as the team store has the run's lease, so it
     misses at most the first ~0.1 s). Reported: median wall time and
     team/local; CPU of slate (user+sys, the stage included), of the
     `postgres` processes (sampled every 0.1 s: a lower bound, see PgCpu),
     of this script, and the rest of the host's busy CPU meanwhile (kernel
     threads, anyone else: a noisy neighbour shows there); how many of the output lines
     reached the team's copy (slate.events, NOT state) - the journal file
     keeps them all, the team copy may elide under pressure - and whether
     every state record did. slate.events is emptied after each team flood,
     so every one starts from the same table.
  2. state records committed per second: a plan of --stages stages each
     running `true`, headless; state records (journal lines whose type is
     not "output") over the wall time, and over the engine's own span
     (first record to last), median of --state-runs runs each, interleaved.
     In team mode each state record is committed to PostgreSQL before the
     engine acts on it (and synced to the journal file, as locally).
  3. attach latency: a run waits at a manual gate on A (team) and another on
     L (local); B has a read-only cockpit attached. --notes times, one team
     and one local command in turn, `slate note RUN TEXT` is issued (from B
     through the team store; from L through the run's control socket) and
     timed:
       - issued: just before the fork of `slate note`;
       - accepted: `slate note` exited 0 (the engine accepted; through the
         team store the CLI looks for the answer right after its insert,
         then after pauses of 50, 100, 200, 400, 500 ms..., so this is
         quantised) - and, for the team, also the engine's answer as the
         server stamps it (slate.commands.answered_at);
       - visible: a follower on B saw the note's record. The follower speaks
         the PostgreSQL protocol itself (stdlib socket): LISTEN slate_run,
         and on each notification for the run reads the records it has not
         seen, as slate's own follower does (store/postgres/follow.rs); a
         record is stamped when the reply holding it is read. Its resolution
         is the scheduler's (sub-millisecond); the cockpit's 30 fps frame
         clock (up to 33 ms) would come on top of it for a human. A read
         every second without a notification is a fallback, counted. The
         local baseline's follower polls the journal file every 1 ms.
     Reported as p50/p99 (nearest rank: with 40 samples p99 is the
     slowest): issued -> visible (the end-to-end figure), accepted ->
     visible (signed: negative when the follower saw the record before the
     command returned, which is the journal's rule - a record is committed
     before the engine answers), issued -> accepted; and the team's path
     split by the server's and the engine's clocks (same host, same clock):
     issued -> asked_at (CLI start, connect, insert), asked -> taken (the
     engine woken by NOTIFY slate_command), taken -> record's ts, record's
     ts -> visible.

The parts run in the order 2, 3, 1 (the short ones first) and are listed
by number again at the end. --smoke runs everything at toy sizes (about ten
seconds) to check the machinery. With the defaults the script takes about a
minute and a half on 2 cores and prints its wall time; `--json PATH` also
writes every sample. Every wait is bounded; every process it starts is
ended (by process group) and every run reaches its end or is killed.
"""

import argparse
import calendar
import fcntl
import glob
import json
import math
import os
import pty
import random
import re
import select
import shutil
import signal
import socket
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from procstat import TICK, cpu_seconds, percentile, rss_mb  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SIZE = (200, 50)  # the attached cockpit's terminal


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------



def ms(x):
    return f"{1000 * x:.1f} ms"


def dist(xs):
    if not xs:
        return "no samples"
    return f"p50 {ms(percentile(xs, 50))}, p99 {ms(percentile(xs, 99))} (min {ms(min(xs))}, max {ms(max(xs))}, n={len(xs)})"


def parse_ts(ts):
    """A journal timestamp (2026-11-23T00:38:13.849998289Z) as epoch seconds."""
    wall = calendar.timegm(time.strptime(ts[:19], "%Y-%m-%dT%H:%M:%S"))
    if len(ts) > 19 and ts[19] == ".":
        wall += float("0" + ts[19:].rstrip("Z"))
    return wall


def loadavg():
    try:
        return open("/proc/loadavg").read().strip()
    except OSError:
        return "?"




def postgres_cpus():
    """CPU seconds of each process named `postgres` on this host (the server and its backends)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = open(f"/proc/{d}/stat").read()
        except OSError:
            continue
        name = stat[stat.find("(") + 1 : stat.rfind(")")]
        if name == "postgres" or name.startswith("postgres:"):
            fields = stat.rsplit(")", 1)[1].split()
            out[int(d)] = (int(fields[11]) + int(fields[12])) / TICK
    return out


def busy_cpu():
    """CPU seconds every core of this host has spent busy (not idle, not waiting on I/O)."""
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return (sum(fields[:8]) - fields[3] - fields[4]) / TICK


class PgCpu:
    """The server's CPU over an interval. Sampled while it lasts: a backend
    (one per connection) that exits takes its counters with it, so what it
    used after the last sample is lost - a lower bound, to within 0.1 s of
    each backend's life."""

    def __init__(self):
        self.start = postgres_cpus()
        self.last = dict(self.start)

    def sample(self):
        self.last.update(postgres_cpus())

    def total(self):
        self.sample()
        return sum(c - self.start.get(pid, 0.0) for pid, c in self.last.items())


# ---------------------------------------------------------------------------
# A PostgreSQL client in a page: startup with trust auth, simple queries,
# notifications. Enough for a LISTEN follower with honest timestamps.
# ---------------------------------------------------------------------------


class PgError(Exception):
    pass


class Pg:
    def __init__(self, host, port, user, db, timeout=10):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.setblocking(False)
        self.buf = bytearray()
        self.read_at = time.monotonic()  # when the last chunk was read
        self.notifications = []  # (monotonic, channel, payload)
        params = b"".join(k + b"\0" + v.encode() + b"\0" for k, v in ((b"user", user), (b"database", db), (b"application_name", "slate-bench-follower"))) + b"\0"
        body = struct.pack("!i", 196608) + params
        self.sock.sendall(struct.pack("!i", len(body) + 4) + body)
        deadline = time.monotonic() + timeout
        while True:
            kind, msg = self._message(deadline)
            if kind == b"R":
                code = struct.unpack("!i", msg[:4])[0]
                if code != 0:
                    raise PgError(f"the server asks for authentication {code}: the bench needs trust auth for role {user}")
            elif kind == b"E":
                raise PgError(self._error(msg))
            elif kind == b"Z":
                return

    @staticmethod
    def _error(msg):
        fields = {}
        for part in msg.split(b"\0"):
            if part:
                fields[chr(part[0])] = part[1:].decode(errors="replace")
        return fields.get("M", "error")

    def _fill(self, deadline):
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("the server did not answer in time")
        r, _, _ = select.select([self.sock], [], [], left)
        if not r:
            raise TimeoutError("the server did not answer in time")
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise PgError("the server closed the connection")
        self.read_at = time.monotonic()
        self.buf += chunk

    def _take(self):
        """One whole message from the buffer, or None."""
        if len(self.buf) < 5:
            return None
        n = struct.unpack("!i", self.buf[1:5])[0]
        if len(self.buf) < n + 1:
            return None
        kind, msg = bytes(self.buf[:1]), bytes(self.buf[5 : n + 1])
        del self.buf[: n + 1]
        return kind, msg

    def _message(self, deadline):
        while True:
            m = self._take()
            if m is not None:
                if m[0] == b"A":  # a notification, whenever it comes
                    self._notification(m[1])
                    continue
                return m
            self._fill(deadline)

    def _notification(self, msg):
        channel, payload = msg[4:].split(b"\0")[:2]
        self.notifications.append((self.read_at, channel.decode(), payload.decode()))

    def query(self, sql, timeout=30):
        """Rows of text (None for NULL)."""
        body = sql.encode() + b"\0"
        self.sock.setblocking(True)
        self.sock.sendall(b"Q" + struct.pack("!i", len(body) + 4) + body)
        self.sock.setblocking(False)
        deadline = time.monotonic() + timeout
        rows, error = [], None
        while True:
            kind, msg = self._message(deadline)
            if kind == b"D":
                n = struct.unpack("!h", msg[:2])[0]
                at, row = 2, []
                for _ in range(n):
                    size = struct.unpack("!i", msg[at : at + 4])[0]
                    at += 4
                    if size < 0:
                        row.append(None)
                    else:
                        row.append(msg[at : at + size].decode())
                        at += size
                rows.append(row)
            elif kind == b"E":
                error = self._error(msg)
            elif kind == b"Z":
                if error:
                    raise PgError(error)
                return rows

    def wait(self, timeout):
        """Reads whatever comes within `timeout` s; the notifications so far."""
        deadline = time.monotonic() + timeout
        while not self.notifications:
            m = self._take()
            if m is not None:
                if m[0] == b"A":
                    self._notification(m[1])
                continue
            try:
                self._fill(deadline)
            except TimeoutError:
                break
        out, self.notifications = self.notifications, []
        return out

    def close(self):
        try:
            self.sock.sendall(b"X\0\0\0\4")
        except OSError:
            pass
        self.sock.close()


def sql_text(s):
    return "'" + s.replace("'", "''") + "'"


# ---------------------------------------------------------------------------
# Processes: every one in a process group of its own, ended by that id
# ---------------------------------------------------------------------------


class Proc:
    """A slate process: headless, so no pty. Exit time from a pidfd, CPU from wait4."""

    def __init__(self, bench, argv, env, stdout=subprocess.DEVNULL, stderr=None, what=""):
        self.bench, self.what = bench, what or " ".join(argv[1:3])
        self.started = time.monotonic()
        self.p = subprocess.Popen(argv, env=env, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, start_new_session=True)
        self.pidfd = os.pidfd_open(self.p.pid)
        self.ended = self.rc = self.cpu = None
        bench.procs.append(self)

    def wait(self, limit):
        """The exit time (monotonic), or None after `limit` s (the process still going)."""
        if self.ended is None:
            r, _, _ = select.select([self.pidfd], [], [], max(0, limit))
            if not r:
                return None
            self.ended = time.monotonic()
            _, status, ru = os.wait4(self.p.pid, 0)
            self.rc = self.p.returncode = os.waitstatus_to_exitcode(status)
            self.cpu = ru.ru_utime + ru.ru_stime
            os.close(self.pidfd)
        return self.ended

    def wait_or_kill(self, limit):
        if self.wait(limit) is None:
            self.kill()
            raise SystemExit(f"{self.what} did not end within {limit:.0f} s (killed)")
        return self.ended

    def alive(self):
        return self.ended is None

    def kill(self):
        """SIGTERM to its group, then SIGKILL after 5 s; reaps it."""
        if self.ended is not None:
            return
        for sig, grace in ((signal.SIGTERM, 5), (signal.SIGKILL, 5)):
            try:
                os.killpg(self.p.pid, sig)
            except ProcessLookupError:
                pass
            if self.wait(grace) is not None:
                break
        try:  # stage commands left in the group
            os.killpg(self.p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


class Attached:
    """`slate attach RUN --read-only` on machine B, in a pty of its own."""

    def __init__(self, bench, run_id):
        self.bench = bench
        binary = bench.bin
        env = bench.env("B")
        pid, fd = pty.fork()
        if pid == 0:
            try:
                fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", SIZE[1], SIZE[0], 0, 0))
                os.execve(binary, [binary, "attach", run_id, "--read-only"], dict(env, TERM="xterm-256color"))
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.bytes = 0
        self.closed = False
        self.peak = 0.0
        self.cpu = 0.0
        self.reaped = False
        bench.attached.append(self)
        bench.drainer.add(self)

    def sample(self):
        self.peak = max(self.peak, rss_mb(self.pid))
        if not self.reaped:
            self.cpu = max(self.cpu, cpu_seconds(self.pid))

    def quit(self):
        """`q`, then killed if it has not gone within 3 s (pty.fork made it a session and group leader)."""
        if self.reaped:
            return
        self.sample()
        try:
            os.write(self.fd, b"q")
        except OSError:
            pass
        until = time.monotonic() + 3
        while time.monotonic() < until:
            done, _ = os.waitpid(self.pid, os.WNOHANG)
            if done:
                self.reaped = True
                break
            time.sleep(0.02)
        if not self.reaped:
            for sig in (signal.SIGTERM, signal.SIGKILL):
                try:
                    os.killpg(self.pid, sig)
                except ProcessLookupError:
                    pass
                time.sleep(0.5)
                done, _ = os.waitpid(self.pid, os.WNOHANG)
                if done:
                    self.reaped = True
                    break
            if not self.reaped:
                os.waitpid(self.pid, 0)
                self.reaped = True
        self.bench.drainer.remove(self)
        try:
            os.close(self.fd)
        except OSError:
            pass


class Drainer(threading.Thread):
    """Reads and discards what the attached cockpits write (a full pty would stall them)."""

    def __init__(self):
        super().__init__(daemon=True)
        self.lock = threading.Lock()
        self.live = {}
        self.stop = False

    def add(self, a):
        with self.lock:
            self.live[a.fd] = a

    def remove(self, a):
        with self.lock:
            self.live.pop(a.fd, None)

    def run(self):
        while not self.stop:
            with self.lock:
                fds = [fd for fd, a in self.live.items() if not a.closed]
            if not fds:
                time.sleep(0.05)
                continue
            try:
                r, _, _ = select.select(fds, [], [], 0.05)
            except (OSError, ValueError):
                continue
            for fd in r:
                with self.lock:
                    a = self.live.get(fd)
                if a is None:
                    continue
                try:
                    chunk = os.read(fd, 1 << 16)
                except OSError:
                    chunk = b""
                if not chunk:
                    a.closed = True
                a.bytes += len(chunk)


# ---------------------------------------------------------------------------
# The bench: a database, three machines, and what runs on them
# ---------------------------------------------------------------------------


class Bench:
    def __init__(self, a):
        self.bin = os.path.abspath(a.bin)
        self.host, self.port = a.pg_host, a.pg_port
        self.db = f"slate_bench_{os.getpid()}"
        self.role_b = f"slate_bench_b_{os.getpid()}"
        self.tmp = tempfile.mkdtemp(prefix="slate-bench-team-")
        self.homes = {m: os.path.join(self.tmp, m) for m in "ABL"}
        for h in self.homes.values():
            os.makedirs(h, mode=0o700)
        self.procs, self.attached = [], []
        self.drainer = Drainer()
        self.drainer.start()
        self.created_db = self.created_role = False
        self.pg = None  # the bench's own connection to the bench database (as postgres)

    def url(self, user):
        return f"postgres://{user}@{self.host}:{self.port}/{self.db}"

    def env(self, machine):
        e = dict(os.environ, SLATE_HOME=self.homes[machine])
        e.pop("SLATE_STORE", None)
        e.pop("SLATE_LOG", None)
        if machine == "A":
            e["SLATE_STORE"] = self.url("postgres")
        elif machine == "B":
            e["SLATE_STORE"] = self.url(self.role_b)
        return e

    def psql(self, sql, db="postgres"):
        r = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-h", self.host, "-p", str(self.port), "-U", "postgres", "-d", db, "-c", sql],
            capture_output=True, text=True, timeout=120,
        )
        if r.returncode != 0:
            raise SystemExit(f"psql failed ({sql[:60]}...): {r.stderr.strip()}")
        return r.stdout.strip()

    def slate(self, machine, args, limit=60):
        """A short slate command; its stdout, or SystemExit with what it said."""
        with tempfile.TemporaryFile() as out:
            p = Proc(self, [self.bin] + args, self.env(machine), stdout=out, stderr=subprocess.STDOUT, what=" ".join(args[:2]))
            p.wait_or_kill(limit)
            out.seek(0)
            text = out.read().decode(errors="replace")
        if p.rc != 0:
            raise SystemExit(f"`slate {' '.join(args)}` on {machine} exited {p.rc}: {text.strip()}")
        return text

    def setup(self):
        self.psql(f"CREATE DATABASE {self.db}")
        self.created_db = True
        self.psql(f"CREATE ROLE {self.role_b} LOGIN")
        self.created_role = True
        self.slate("A", ["store", "init"])
        self.slate("A", ["store", "grant", "postgres", "run", "--as", "bench-a"])
        self.slate("A", ["store", "grant", self.role_b, "steer", "--as", "bench-b"])
        self.pg = Pg(self.host, self.port, "postgres", self.db)

    def cleanup(self):
        for a in list(self.attached):
            try:
                a.quit()
            except Exception as e:  # noqa: BLE001 - cleaning up whatever happened
                print(f"cleanup: attach {a.pid}: {e}", file=sys.stderr)
        for p in self.procs:
            if p.alive():
                print(f"cleanup: ending {p.what} (pid {p.p.pid})", file=sys.stderr)
                p.kill()
        self.drainer.stop = True
        if self.pg:
            self.pg.close()
        if self.created_db:
            try:
                self.psql(f"DROP DATABASE IF EXISTS {self.db} WITH (FORCE)")
            except (SystemExit, subprocess.TimeoutExpired) as e:
                print(f"cleanup: could not drop database {self.db}: {e}", file=sys.stderr)
        if self.created_role:
            try:
                self.psql(f"DROP ROLE IF EXISTS {self.role_b}")
            except (SystemExit, subprocess.TimeoutExpired) as e:
                print(f"cleanup: could not drop role {self.role_b}: {e}", file=sys.stderr)
        shutil.rmtree(self.tmp, ignore_errors=True)

    # -- runs ---------------------------------------------------------------

    def run_dirs(self, machine):
        return set(glob.glob(os.path.join(self.homes[machine], "runs", "*")))

    def start_run(self, machine, plan, extra_env=None, what="run"):
        """`slate run --headless PLAN` on machine A or L; (proc, before) to find its run dir."""
        before = self.run_dirs(machine)
        env = dict(self.env(machine), **(extra_env or {}))
        with open(os.path.join(self.tmp, "stderr.log"), "ab") as err:
            p = Proc(self, [self.bin, "run", "--headless", plan], env, what=what, stderr=err)
        return p, before

    def new_run(self, machine, before, proc, limit=30):
        """The run dir the run just started created, and its id."""
        until = time.monotonic() + limit
        while time.monotonic() < until:
            new = [d for d in self.run_dirs(machine) - before if os.path.exists(os.path.join(d, "journal.ndjson"))]
            if new:
                return new[0], os.path.basename(new[0])
            if not proc.alive() or proc.wait(0) is not None:
                raise SystemExit(f"{proc.what} exited {proc.rc} before its journal appeared ({self.stderr_tail()})")
            time.sleep(0.005)
        raise SystemExit(f"{proc.what}: no journal within {limit} s")

    def stderr_tail(self):
        try:
            return open(os.path.join(self.tmp, "stderr.log"), errors="replace").read()[-500:].strip()
        except OSError:
            return ""

    def wait_leased(self, run_id, limit=30):
        until = time.monotonic() + limit
        while time.monotonic() < until:
            if self.pg.query(f"SELECT 1 FROM slate.leases WHERE run_id = {sql_text(run_id)}"):
                return
            time.sleep(0.01)
        raise SystemExit(f"run {run_id}: no lease in the team store within {limit} s")

    def team_counts(self, run_id):
        """(state records, output lines) of the run in the team's copy."""
        rows = self.pg.query(f"SELECT state, count(*) FROM slate.events WHERE run_id = {sql_text(run_id)} GROUP BY state")
        got = {r[0]: int(r[1]) for r in rows}
        return got.get("t", 0), got.get("f", 0)

    def log_warnings(self, machine, since):
        """WARN/ERROR lines slate.log gained past byte `since`, by message."""
        path = os.path.join(self.homes[machine], "slate.log")
        try:
            with open(path, "rb") as f:
                f.seek(since)
                text = f.read().decode(errors="replace")
        except OSError:
            return {}
        out = {}
        for line in text.splitlines():
            if " WARN " in line or " ERROR " in line:
                key = re.sub(r"\d+", "N", line.split(" WARN ", 1)[-1].split(" ERROR ", 1)[-1])[:160]
                out[key] = out.get(key, 0) + 1
        return out

    def log_size(self, machine):
        try:
            return os.path.getsize(os.path.join(self.homes[machine], "slate.log"))
        except OSError:
            return 0


def journal_counts(path):
    """(state records, output lines, first ts, last ts, outcome) of a journal file, read in a stream."""
    state = output = 0
    first = last = None
    outcome = None
    with open(path, "rb") as f:
        for line in f:
            if b'"type":"output"' in line:
                output += 1
                continue
            if not line.strip():
                continue
            rec = json.loads(line)
            state += 1
            ts = parse_ts(rec["ts"])
            first = ts if first is None else first
            last = ts
            if rec["event"]["type"] == "run_finished":
                outcome = rec["event"].get("outcome")
    return state, output, first, last, outcome


# ---------------------------------------------------------------------------
# 1. Flood
# ---------------------------------------------------------------------------


def flood_once(b, variant, lines, limit):
    """One headless flood: variant 'local', 'team' or 'team+attach'."""
    machine = "L" if variant == "local" else "A"
    plan = os.path.join(ROOT, "assets/bench/flood.toml")
    log0 = b.log_size(machine)
    pg = PgCpu()
    busy0, self0 = busy_cpu(), time.process_time()
    proc, before = b.start_run(machine, plan, {"FLOOD_LINES": str(lines)}, what=f"flood ({variant})")
    run_dir, run_id = b.new_run(machine, before, proc)
    att = None
    try:
        if variant == "team+attach":
            b.wait_leased(run_id)
            att = Attached(b, run_id)
            joined = time.monotonic() - proc.started
        until = proc.started + limit
        while proc.wait(0.1) is None:
            pg.sample()
            if att:
                att.sample()
            if time.monotonic() > until:
                proc.kill()
                raise SystemExit(f"the {variant} flood did not finish within {limit:.0f} s (killed)")
        took = proc.ended - proc.started
        pg_cpu = pg.total()
        busy, mine = busy_cpu() - busy0, time.process_time() - self0
        res = {"variant": variant, "wall": took, "rc": proc.rc, "slate_cpu": proc.cpu, "pg_cpu": pg_cpu}
        if att:
            att.sample()
            res.update(attach_joined=joined, attach_cpu=att.cpu, attach_rss=att.peak, attach_bytes=att.bytes)
        # Everything else the host did meanwhile (the kernel's threads, other users): a noisy neighbour shows here.
        res["bench_cpu"] = mine
        res["other_cpu"] = busy - proc.cpu - pg_cpu - res.get("attach_cpu", 0.0) - mine
    finally:
        if att:
            att.quit()
    state, output, first, last, outcome = journal_counts(os.path.join(run_dir, "journal.ndjson"))
    res.update(state=state, output=output, span=(last - first) if first else None, outcome=outcome)
    if machine == "A":
        ts, to = b.team_counts(run_id)
        res.update(team_state=ts, team_output=to)
        b.pg.query("TRUNCATE slate.events")  # every team flood starts with the same table
    res["warnings"] = b.log_warnings(machine, log0)
    shutil.rmtree(run_dir, ignore_errors=True)  # hundreds of MB each
    return res


def flood(b, lines, runs, limit):
    variants = ["local", "team", "team+attach"]
    results = []
    for v in variants:  # untimed: the first flood of each kind ran slower (new files, caches, a fresh table)
        res = flood_once(b, v, lines, limit)
        print(f"   flood warm-up {v:<11}: {res['wall']:.2f} s (not counted)", flush=True)
    for r in range(runs):
        order = variants[r % 3 :] + variants[: r % 3]
        for v in order:
            res = flood_once(b, v, lines, limit)
            print(
                f"   flood round {r + 1} {v:<11}: {res['wall']:.2f} s (exit {res['rc']}, slate CPU {res['slate_cpu']:.2f} s, "
                f"postgres CPU {res['pg_cpu']:.2f} s, this script {res['bench_cpu']:.2f} s, other CPU on the host {res['other_cpu']:.2f} s"
                + (f", team copy {res['team_output']:,} of {res['output']:,} lines" if "team_output" in res else "")
                + ")",
                flush=True,
            )
            results.append(res)
    return results


def all_there(rs):
    """Whether the team's copy has every state record the journal files have."""
    if all(r["team_state"] == r["state"] for r in rs):
        return "all there"
    return "MISSING (team/file): " + ", ".join(str(r["team_state"]) + "/" + str(r["state"]) for r in rs)


def report_flood(results, lines, runs):
    med = statistics.median
    by = {v: [r for r in results if r["variant"] == v] for v in ("local", "team", "team+attach")}
    base = med(r["wall"] for r in by["local"])
    each = lambda rs, k="wall": ", ".join(f"{r[k]:.2f}" for r in rs)  # noqa: E731
    out = [
        f"1. flood of {lines:,} lines (assets/bench/flood.toml), headless, {runs} run(s) each, interleaved:",
        f"   local store (baseline): median {base:.2f} s (runs: {each(by['local'])}); "
        f"slate CPU {med(r['slate_cpu'] for r in by['local']):.2f} s, other CPU on the host {med(r['other_cpu'] for r in by['local']):.2f} s; "
        f"journal file {min(r['output'] for r in by['local']):,} lines",
    ]
    for v in ("team", "team+attach"):
        rs = by[v]
        t = med(r["wall"] for r in rs)
        label = "team store" if v == "team" else "team store, cockpit attached read-only on B"
        line = (
            f"   {label}: median {t:.2f} s (runs: {each(rs)}): team/local = {t / base:.2f}x; "
            f"slate CPU {med(r['slate_cpu'] for r in rs):.2f} s, postgres CPU {med(r['pg_cpu'] for r in rs):.2f} s, "
            f"other {med(r['other_cpu'] for r in rs):.2f} s; "
            f"team copy holds {', '.join(format(r['team_output'], ',') for r in rs)} of {lines:,} output lines "
            f"(median {med(r['team_output'] for r in rs) / lines:.1%}, {med(r['team_output'] / r['wall'] for r in rs):,.0f} lines/s reached it); "
            f"state records {all_there(rs)}"
        )
        if v == "team+attach":
            line += (
                f"\n      cockpit on B: joined {med(r['attach_joined'] for r in rs):.2f} s after the fork, "
                f"CPU {med(r['attach_cpu'] for r in rs):.2f} s, peak RSS {med(r['attach_rss'] for r in rs):.0f} MB, "
                f"{med(r['attach_bytes'] for r in rs) / 1e3:.0f} kB written to its terminal"
            )
        out.append(line)
    bad = [r for r in results if r["rc"] != 0]
    if bad:
        out.append(f"   NOTE: {len(bad)} run(s) did not exit 0: " + ", ".join(f"{r['variant']} exit {r['rc']} ({r['outcome']})" for r in bad))
    warns = {}
    for r in results:
        for k, n in r["warnings"].items():
            warns[(r["variant"], k)] = warns.get((r["variant"], k), 0) + n
    for (v, k), n in sorted(warns.items()):
        out.append(f"   slate.log ({v}): {n}x {k}")
    return "\n".join(out)


# ---------------------------------------------------------------------------
# 2. State records per second
# ---------------------------------------------------------------------------


def states_plan(tmp, stages):
    path = os.path.join(tmp, f"states-{stages}.toml")
    with open(path, "w") as f:
        f.write('[release]\nname = "bench-states"\nversion = "2.0.0"\nprevious_version = "1.0.0"\nowner = "bench"\n\n')
        f.write('[[environments]]\nname = "dev"\n')
        for i in range(stages):
            f.write(f'\n[[stages]]\nname = "s{i:04d}"\ncommand = "true"\n')
    return path


def states_once(b, variant, plan, limit):
    machine = "L" if variant == "local" else "A"
    log0 = b.log_size(machine)
    pg = PgCpu()
    busy0, self0 = busy_cpu(), time.process_time()
    proc, before = b.start_run(machine, plan, what=f"states ({variant})")
    run_dir, run_id = b.new_run(machine, before, proc)
    while proc.wait(0.05) is None:
        pg.sample()
        if time.monotonic() - proc.started > limit:
            proc.kill()
            raise SystemExit(f"{proc.what} did not end within {limit:.0f} s (killed)")
    pg_cpu = pg.total()
    other = busy_cpu() - busy0 - (time.process_time() - self0) - proc.cpu - pg_cpu
    state, output, first, last, outcome = journal_counts(os.path.join(run_dir, "journal.ndjson"))
    res = {
        "variant": variant, "wall": proc.ended - proc.started, "rc": proc.rc, "state": state, "span": last - first,
        "slate_cpu": proc.cpu, "pg_cpu": pg_cpu, "other_cpu": other, "outcome": outcome, "warnings": b.log_warnings(machine, log0),
    }
    if machine == "A":
        res["team_state"], _ = b.team_counts(run_id)
    return res


def states(b, stages, runs, limit):
    plan = states_plan(b.tmp, stages)
    warm = states_plan(b.tmp, 5)
    for v in ("local", "team"):  # a first run creates the local store, connects, warms caches: untimed
        states_once(b, v, warm, limit)
    results = []
    for r in range(runs):
        for v in (("local", "team") if r % 2 == 0 else ("team", "local")):
            res = states_once(b, v, plan, limit)
            print(
                f"   states round {r + 1} {v:<5}: {res['state']} state records in {res['wall']:.2f} s "
                f"(engine span {res['span']:.2f} s, exit {res['rc']}, slate CPU {res['slate_cpu']:.2f} s, postgres CPU {res['pg_cpu']:.2f} s, "
                f"other CPU on the host {res['other_cpu']:.2f} s)",
                flush=True,
            )
            results.append(res)
    return results


def report_states(results, stages, runs):
    med = statistics.median
    lo = [r for r in results if r["variant"] == "local"]
    te = [r for r in results if r["variant"] == "team"]
    rate = lambda r: r["state"] / r["wall"]  # noqa: E731
    span_rate = lambda r: r["state"] / r["span"]  # noqa: E731
    bl, bt = med(rate(r) for r in lo), med(rate(r) for r in te)
    sl, st = med(span_rate(r) for r in lo), med(span_rate(r) for r in te)
    each = lambda rs, f: ", ".join(f"{f(r):.0f}" for r in rs)  # noqa: E731
    out = [
        f"2. state records committed per second: {stages} stages of `true`, headless, {runs} run(s) each, interleaved "
        f"({med(r['state'] for r in lo):.0f} state records a run):",
        f"   local store (baseline): median {bl:.0f} records/s over the wall time (runs: {each(lo, rate)}), "
        f"{sl:.0f}/s over the engine's span; {med(r['wall'] for r in lo):.2f} s a run, slate CPU {med(r['slate_cpu'] for r in lo):.2f} s",
        f"   team store: median {bt:.0f} records/s over the wall time (runs: {each(te, rate)}), {st:.0f}/s over the engine's span: "
        f"team/local = {bt / bl:.2f}x (span: {st / sl:.2f}x); {med(r['wall'] for r in te):.2f} s a run, "
        f"slate CPU {med(r['slate_cpu'] for r in te):.2f} s, postgres CPU {med(r['pg_cpu'] for r in te):.2f} s; "
        f"{med(1000 * r['span'] / r['state'] for r in te) - med(1000 * r['span'] / r['state'] for r in lo):.2f} ms more per record; "
        f"team copy: state records {all_there(te)}",
    ]
    bad = [r for r in results if r["rc"] != 0]
    if bad:
        out.append(f"   NOTE: {len(bad)} run(s) did not exit 0: " + ", ".join(f"{r['variant']} exit {r['rc']}" for r in bad))
    return "\n".join(out)


# ---------------------------------------------------------------------------
# 3. Attach latency
# ---------------------------------------------------------------------------


class TeamFollower(threading.Thread):
    """A follower on B: LISTEN slate_run, and on the run's notification read what it has not seen."""

    def __init__(self, b, run_id):
        super().__init__(daemon=True)
        self.pg = Pg(b.host, b.port, b.role_b, b.db)
        self.run_id = run_id
        self.pg.query("LISTEN slate_run")
        rows = self.pg.query(f"SELECT coalesce(max(seq), 0) FROM slate.events WHERE run_id = {sql_text(run_id)}")
        self.last = int(rows[0][0])
        self.seen = {}  # note text -> (monotonic, seq, record ts)
        self.by_poll = 0
        self.notified = 0
        self.error = None
        self.stopping = False

    def read(self, polled):
        rows = self.pg.query(
            f"SELECT seq, record FROM slate.events WHERE run_id = {sql_text(self.run_id)} AND seq > {self.last} ORDER BY seq LIMIT 1000"
        )
        at = self.pg.read_at
        for seq, record in rows:
            self.last = int(seq)
            if '"note_added"' not in record:
                continue
            rec = json.loads(record)
            if rec["event"]["type"] == "note_added":
                self.seen[rec["event"]["text"]] = (at, int(seq), parse_ts(rec["ts"]))
                self.by_poll += polled

    def run(self):
        try:
            last_read = time.monotonic()
            while not self.stopping:
                got = self.pg.wait(0.25)
                mine = [n for n in got if n[1] == "slate_run" and n[2].split(" ", 1)[0] == self.run_id]
                if mine:
                    self.notified += len(mine)
                    self.read(False)
                    last_read = time.monotonic()
                elif time.monotonic() - last_read >= 1.0:
                    self.read(True)
                    last_read = time.monotonic()
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            self.error = e
        finally:
            self.pg.close()


class FileFollower(threading.Thread):
    """The local baseline's follower: the run's journal file, polled every 1 ms."""

    def __init__(self, path):
        super().__init__(daemon=True)
        self.f = open(path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.partial = b""
        self.seen = {}
        self.stopping = False

    def run(self):
        while not self.stopping:
            chunk = self.f.read()
            if chunk:
                at = time.monotonic()
                data = self.partial + chunk
                *lines, self.partial = data.split(b"\n")
                for line in lines:
                    if b'"note_added"' in line:
                        rec = json.loads(line)
                        self.seen[rec["event"]["text"]] = (at, rec["seq"], parse_ts(rec["ts"]))
            else:
                time.sleep(0.001)
        self.f.close()


def gate_plan(tmp):
    path = os.path.join(tmp, "gate.toml")
    with open(path, "w") as f:
        f.write(
            '[release]\nname = "bench-gate"\nversion = "2.0.0"\nprevious_version = "1.0.0"\nowner = "bench"\n\n'
            '[[environments]]\nname = "prod"\ngates = ["go"]\n\n'
            '[[stages]]\nname = "deploy"\ncommand = "true"\n\n'
            '[[gates]]\nname = "go"\nkind = "manual"\ntimeout = "30m"\n'
        )
    return path


def wait_waiting(run_dir, proc, limit=60):
    path = os.path.join(run_dir, "journal.ndjson")
    until = time.monotonic() + limit
    while time.monotonic() < until:
        if '"gate_waiting"' in open(path, errors="replace").read():
            return
        if proc.wait(0) is not None:
            raise SystemExit(f"{proc.what} exited {proc.rc} before its gate waited")
        time.sleep(0.02)
    raise SystemExit(f"{proc.what}: the gate did not wait within {limit} s")


def note(b, machine, run_id, text, limit=60):
    """`slate note RUN TEXT`: (issued monotonic, issued wall, exited monotonic, rc, output)."""
    with tempfile.TemporaryFile() as out:
        wall = time.time()
        p = Proc(b, [b.bin, "note", run_id, text], b.env(machine), stdout=out, stderr=subprocess.STDOUT, what=f"note ({machine})")
        p.wait_or_kill(limit)
        out.seek(0)
        said = out.read().decode(errors="replace").strip()
    return p.started, wall, p.ended, p.rc, said


def wait_seen(follower, text, limit=10):
    until = time.monotonic() + limit
    while time.monotonic() < until:
        if text in follower.seen:
            return follower.seen[text]
        time.sleep(0.001)
    return None


def latency(b, notes, rng):
    plan = gate_plan(b.tmp)
    team, tb = b.start_run("A", plan, what="gate run (team)")
    local, lb = b.start_run("L", plan, what="gate run (local)")
    team_dir, team_id = b.new_run("A", tb, team)
    local_dir, local_id = b.new_run("L", lb, local)
    wait_waiting(team_dir, team)
    wait_waiting(local_dir, local)
    att = Attached(b, team_id)
    follower = TeamFollower(b, team_id)
    files = FileFollower(os.path.join(local_dir, "journal.ndjson"))
    follower.start()
    files.start()
    time.sleep(2)  # the cockpit opens and catches up
    samples = {"team": [], "local": []}
    failures = []
    busy0, t0 = busy_cpu(), time.monotonic()
    try:
        for i in range(notes):
            for variant in (("team", "local") if i % 2 == 0 else ("local", "team")):
                machine, rid, fol = ("B", team_id, follower) if variant == "team" else ("L", local_id, files)
                text = f"bench-{variant}-{i:03d}-{rng.randrange(1 << 30):08x}"
                issued, wall, exited, rc, said = note(b, machine, rid, text)
                seen = wait_seen(fol, text)
                if rc != 0 or seen is None:
                    failures.append(f"{variant} note {i}: exit {rc}, {'never seen' if seen is None else 'seen'}: {said[:200]}")
                    continue
                samples[variant].append({"text": text, "issued": issued, "issued_wall": wall, "exited": exited, "seen": seen[0], "seq": seen[1], "record_ts": seen[2]})
                time.sleep(rng.uniform(0.05, 0.25))  # not locked to any clock of the engine's
            if follower.error:
                raise SystemExit(f"the team follower failed: {follower.error}")
        busy = (busy_cpu() - busy0) / ((time.monotonic() - t0) * os.cpu_count())
        # The server's stamps of each team command: asked, taken, answered (epoch seconds).
        rows = b.pg.query(
            "SELECT action, extract(epoch from asked_at), extract(epoch from taken_at), extract(epoch from answered_at), ok "
            f"FROM slate.commands WHERE run_id = {sql_text(team_id)}"
        )
        stamps = {}
        for action, asked, taken, answered, ok in rows:
            try:
                t = json.loads(action).get("text") if action.startswith("{") else None
            except ValueError:
                t = None
            if t is None:
                m = re.search(r"bench-team-\d+-[0-9a-f]+", action)
                t = m.group(0) if m else None
            if t:
                stamps[t] = tuple(float(x) if x is not None else None for x in (asked, taken, answered))
        for s in samples["team"]:
            s["server"] = stamps.get(s["text"])
        # The end: approve both gates (the team's from B, through the team store) and let the runs finish.
        approve_team = note_like(b, "B", ["approve", team_id, "go", "--comment", "ok"])
        approve_local = note_like(b, "L", ["approve", local_id, "go", "--comment", "ok"])
        for p in (team, local):
            if p.wait(60) is None:
                failures.append(f"{p.what} did not finish within 60 s of its approval; killed")
                p.kill()
        extra = {"approve_team": approve_team, "approve_local": approve_local, "team_rc": team.rc, "local_rc": local.rc,
                 "by_poll": follower.by_poll, "notified": follower.notified, "attach_bytes": att.bytes, "busy": busy}
    finally:
        follower.stopping = files.stopping = True
        att.quit()
        for p in (team, local):
            if p.alive():
                p.kill()
        follower.join(2)
        files.join(2)
    return samples, failures, extra


def note_like(b, machine, args):
    with tempfile.TemporaryFile() as out:
        p = Proc(b, [b.bin] + args, b.env(machine), stdout=out, stderr=subprocess.STDOUT, what=" ".join(args[:1]))
        p.wait_or_kill(60)
        out.seek(0)
        return p.rc, p.ended - p.started, out.read().decode(errors="replace").strip()[:200]


def report_latency(samples, failures, extra, notes):
    to_mono = time.time() - time.monotonic()  # the same host's clock: wall = monotonic + offset
    team, local = samples["team"], samples["local"]
    out = [f"3. attach latency: {notes} `slate note` commands each, team (from B through the team store) and local (control socket on L), interleaved:"]
    if team and local:
        t_vis = [s["seen"] - s["issued"] for s in team]
        l_vis = [s["seen"] - s["issued"] for s in local]
        out.append(
            f"   issued -> visible to a follower: team {dist(t_vis)}\n"
            f"      local baseline (journal file, 1 ms polling): {dist(l_vis)}\n"
            f"      team/local: p50 {percentile(t_vis, 50) / percentile(l_vis, 50):.2f}x, p99 {percentile(t_vis, 99) / percentile(l_vis, 99):.2f}x"
        )
        t_acc = [s["exited"] - s["issued"] for s in team]
        l_acc = [s["exited"] - s["issued"] for s in local]
        out.append(
            f"   issued -> accepted (`slate note` exits 0): team {dist(t_acc)}; local {dist(l_acc)}: "
            f"team/local p50 {percentile(t_acc, 50) / percentile(l_acc, 50):.2f}x"
        )
        t_av = [s["seen"] - s["exited"] for s in team]
        l_av = [s["seen"] - s["exited"] for s in local]
        out.append(
            f"   accepted (exit 0) -> visible, signed (negative: seen before the CLI returned): team {dist(t_av)}; local {dist(l_av)}; "
            f"seen before the exit: team {sum(x < 0 for x in t_av)}/{len(t_av)}, local {sum(x < 0 for x in l_av)}/{len(l_av)}"
        )
        srv = [s for s in team if s.get("server") and None not in s["server"]]
        if srv:
            seen_wall = lambda s: s["seen"] + to_mono  # noqa: E731
            ans_vis = [seen_wall(s) - s["server"][2] for s in srv]
            out.append(f"   accepted (the engine's answer, commands.answered_at) -> visible, signed: team {dist(ans_vis)}")
            parts = [
                ("issued -> asked_at (CLI start, connect, lease check, insert)", [s["server"][0] - s["issued_wall"] for s in srv]),
                ("asked -> taken (engine woken by NOTIFY slate_command)", [s["server"][1] - s["server"][0] for s in srv]),
                ("taken -> the note record's ts", [s["record_ts"] - s["server"][1] for s in srv]),
                ("record's ts -> visible on B (commit, NOTIFY, read)", [seen_wall(s) - s["record_ts"] for s in srv]),
                ("record's ts -> answered_at", [s["server"][2] - s["record_ts"] for s in srv]),
                ("answered_at -> CLI exit (its polling)", [s["exited"] + to_mono - s["server"][2] for s in srv]),
            ]
            out.append("   team path, medians (p99): " + "; ".join(f"{k} {ms(statistics.median(v))} ({ms(percentile(v, 99))})" for k, v in parts))
        lp = [("issued -> the note record's ts", [s["record_ts"] - s["issued_wall"] for s in local]),
              ("record's ts -> seen in the file", [s["seen"] + to_mono - s["record_ts"] for s in local])]
        out.append("   local path, medians (p99): " + "; ".join(f"{k} {ms(statistics.median(v))} ({ms(percentile(v, 99))})" for k, v in lp))
        out.append(
            f"   follower on B: {extra['notified']} notifications for the run; notes found by the 1 s fallback read instead: {extra['by_poll']}; "
            f"cockpit attached on B wrote {extra['attach_bytes'] / 1e3:.0f} kB meanwhile; the host's cores were {extra['busy']:.0%} busy"
        )
    out.append(
        f"   gates approved: team from B exit {extra['approve_team'][0]} in {ms(extra['approve_team'][1])}, "
        f"local exit {extra['approve_local'][0]} in {ms(extra['approve_local'][1])}; runs exited {extra['team_rc']} / {extra['local_rc']}"
    )
    for f in failures:
        out.append(f"   FAILED: {f}")
    return "\n".join(out)


# ---------------------------------------------------------------------------


def main():
    wall = time.monotonic()
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--bin", default=os.path.join(ROOT, "target/release/slate"))
    p.add_argument("--pg-host", default="127.0.0.1")
    p.add_argument("--pg-port", type=int, default=5432)
    p.add_argument("--runs", type=int, default=3, help="flood runs of each variant")
    p.add_argument("--lines", type=int, default=2_000_000, help="lines of the flood")
    p.add_argument("--stages", type=int, default=200, help="stages of the state-records plan")
    p.add_argument("--state-runs", type=int, default=5, help="runs of the state-records plan, each store")
    p.add_argument("--notes", type=int, default=40, help="commands timed, each store (attach latency)")
    p.add_argument("--only", default="1,2,3", help="comma list of parts: 1 flood, 2 state records, 3 latency")
    p.add_argument("--smoke", action="store_true", help="toy sizes: check the machinery in a minute")
    p.add_argument("--json", metavar="PATH", help="also write every sample here")
    a = p.parse_args()
    if a.smoke:
        a.runs, a.lines, a.stages, a.state_runs, a.notes = 1, 20_000, 20, 1, 5
    only = {int(x) for x in a.only.split(",") if x.strip()}
    if not os.access(a.bin, os.X_OK):
        p.error(f"no slate binary at {a.bin} (cargo build --release, or --bin)")
    if not shutil.which("psql"):
        p.error("the psql CLI is needed")
    rng = random.Random(19)
    print(f"slate {a.bin}; {os.cpu_count()} cores; load {loadavg()}; {'smoke sizes' if a.smoke else 'full sizes'}", flush=True)

    b = Bench(a)

    def stop(signum, frame):
        raise KeyboardInterrupt  # the cleanup below runs

    signal.signal(signal.SIGTERM, stop)
    results = {}
    reports = []
    try:
        b.setup()
        print(f"database {b.db}, role {b.role_b}; machines under {b.tmp}", flush=True)
        if 2 in only:
            st = states(b, a.stages, a.state_runs, 300)
            results["states"] = st
            reports.append(report_states(st, a.stages, a.state_runs))
            print(reports[-1], flush=True)
        if 3 in only:
            samples, failures, extra = latency(b, a.notes, rng)
            results["latency"] = {"samples": samples, "failures": failures, "extra": extra}
            reports.append(report_latency(samples, failures, extra, a.notes))
            print(reports[-1], flush=True)
        if 1 in only:
            fl = flood(b, a.lines, a.runs, 600)
            results["flood"] = fl
            reports.append(report_flood(fl, a.lines, a.runs))
            print(reports[-1], flush=True)
    finally:
        b.cleanup()
    if a.json:
        with open(a.json, "w") as f:
            json.dump(results, f, indent=1, default=str)
    print("\n" + "\n".join(sorted(reports)))
    print(f"load {loadavg()}; total wall time {time.monotonic() - wall:.0f} s")


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        print("interrupted: every process, the database and the role were cleaned up", file=sys.stderr)
        sys.exit(130)
