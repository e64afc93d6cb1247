"""The stack's processes: pid files, starting and stopping process groups, bounded waits."""

from __future__ import annotations

import contextlib
import glob
import os
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

from .settings import REPO, START_TIMEOUT, STOP_TIMEOUT, StackError, paths, say


def pid_file(name: str) -> Path:
    return paths()["pids"] / f"{name}.pid"


def read_pid(name: str) -> int | None:
    try:
        pid = int(pid_file(name).read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return pid if alive(pid) else None


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of ours counts as gone
        return Path(f"/proc/{pid}/stat").read_text().split(") ")[1][0] != "Z"
    except (OSError, IndexError):
        return True


def spawn(name: str, argv: list[str], env: dict[str, str]) -> int:
    """Start argv in its own session (so its whole process group can be stopped), log to a file."""
    running = read_pid(name)
    if running:
        say(f"{name} already running (pid {running})")
        return running
    p = paths()
    log = open(p["logs"] / f"{name}.log", "ab")  # noqa: SIM115 - the child owns it
    proc = subprocess.Popen(
        argv,
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    log.close()
    pid_file(name).write_text(f"{proc.pid}\n")
    say(f"{name} started (pid {proc.pid}), log {p['logs'] / (name + '.log')}")
    return proc.pid


def stop_group(name: str, pid: int, timeout: float = STOP_TIMEOUT) -> None:
    """SIGTERM the process group, wait (bounded), then SIGKILL what is left."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(pid, sig)
        except ProcessLookupError:
            break
        except PermissionError:
            os.kill(pid, sig)
        deadline = time.monotonic() + (timeout if sig == signal.SIGTERM else 5)
        while time.monotonic() < deadline and group_alive(pid):
            time.sleep(0.2)
            reap(pid)
        if not group_alive(pid):
            break
        if sig == signal.SIGTERM:
            say(f"{name} (pid {pid}) did not stop within {timeout:.0f}s: killing it")
    pid_file(name).unlink(missing_ok=True)
    say(f"{name} stopped")


def stop_if_running(name: str, timeout: float = STOP_TIMEOUT) -> None:
    """Stop the process group of `name`'s pid file if it is alive; drop a stale pid file."""
    pid = read_pid(name)
    if pid:
        stop_group(name, pid, timeout)
    else:
        pid_file(name).unlink(missing_ok=True)


def reap(pid: int) -> None:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def group_alive(pgid: int) -> bool:
    for stat in glob.glob("/proc/[0-9]*/stat"):
        try:
            fields = Path(stat).read_text().rsplit(") ", 1)[1].split()
        except (OSError, IndexError):
            continue
        if fields[0] != "Z" and int(fields[2]) == pgid:
            return True
    return False


def wait_until(what: str, check, timeout: float = START_TIMEOUT, log: str | None = None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        if log and pid_file(log).exists() and read_pid(log) is None:
            raise StackError(f"{what} exited while starting:\n{log_tail(log)}")
        try:
            result = check()
            if result:
                return result
        except Exception as error:
            last = error
        time.sleep(0.5)
    where = f"; see {paths()['logs'] / (log + '.log')}" if log else ""
    raise StackError(f"{what} did not answer within {timeout:.0f}s ({last}){where}")


def log_tail(name: str, lines: int = 15) -> str:
    try:
        text = (paths()["logs"] / f"{name}.log").read_text(errors="replace")
    except OSError:
        return "(no log)"
    tail = text.splitlines()[-lines:]
    return "\n".join(f"    {line}" for line in tail) + f"\n  (log: {paths()['logs'] / name}.log)"


def run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        raise StackError(f"{what} failed ({result.returncode}): {result.stderr.strip()[-800:]}")


def port_open(host: str, port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def refuse_taken_port(port: str, fix: str) -> None:
    """A StackError if something already listens on 127.0.0.1:port; `fix` names the settings."""
    if port_open("127.0.0.1", int(port)):
        raise StackError(
            f"port {port} on 127.0.0.1 is taken by another program; choose a free one with {fix}"
        )


def http_get(url: str, timeout: float = 3) -> bytes:
    with urllib.request.urlopen(url, timeout=timeout) as response:
        return response.read()
