"""Issue 7 item 5: crash safety under SIGKILL, many times, at random moments.

Settings: a helper process forks writers that save ``profiles.json`` over and over and are SIGKILLed:
(a) at *every* traced Python line event of one ``save_settings`` call in turn (``sys.settrace`` counts the
events; the writer kills itself at event k), which covers every step of the write (temporary file, write,
fsync, rename) deterministically, and (b) from the outside, after a random number of completed saves. After
each kill the file must parse and be exactly the old or the new version (``write_atomic``: temp file in the
same directory, fsync, ``os.replace``).

Webhooks: ``python -m nango_desktop listen`` is SIGKILLed several times during one Nango-like burst; after each
crash the SQLite file passes ``PRAGMA integrity_check`` and holds every event that was answered 2xx, and at the
end every event is stored exactly once. (``test_webhook_durability.py`` kills once; this repeats it at several
random points with a check after every crash, reusing its helpers.)

POSIX only (fork, SIGKILL). Larger runs: ``benchmarks/reliability_figures.py``.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from nango_desktop.settings import Profile, Settings, load_settings, settings_path
from nango_desktop.store.events import event_store_path

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork and SIGKILL (POSIX)")

REPO = Path(__file__).resolve().parents[2]
SEED = 7


def settings_version(n: int) -> Settings:
    """Version ``n`` of the settings: deterministic, its size varies with ``n`` (a torn write cannot pass)."""
    return Settings(
        profiles=[
            Profile(name=f"p{j}", environment=f"v{n}-" + "e" * ((n * 7 + j) % 60), production=bool(n % 2))
            for j in range(30)
        ],
        current_profile=f"p{n % 30}",
    )


# -- the helper process (run as ``python -m tests.integration.test_crash_safety settings-writer``) -----------


# Trace events that count as kill points. "io" (CI): every event in settings.py frames (each step of
# save_settings / write_atomic) and in the Python-level file writers of pathlib (so a naive
# ``path.write_bytes`` would be killed between truncating and writing); "all": every Python event of a save.
_WRITE_FUNCS = frozenset({"write_bytes", "write_text", "open", "replace", "rename", "touch"})


def _counts(frame, scope: str) -> bool:
    code = frame.f_code
    return scope == "all" or code.co_filename.endswith("settings.py") or code.co_name in _WRITE_FUNCS


def _writer(mode: str, start: int, arg: int, ack_fd: int, scope: str) -> None:
    """In the forked writer: save versions start, start+1, ...; write each completed number to ``ack_fd``."""
    from nango_desktop.settings import save_settings

    def ack(n: int) -> None:
        os.write(ack_fd, f"{n}\n".encode())

    if mode == "trace":  # one plain save, then one save killed at its arg-th trace event
        save_settings(settings_version(start))
        ack(start)
        target = settings_version(start + 1)
        count = 0

        def tracer(frame, event, _arg):
            nonlocal count
            if _counts(frame, scope):
                count += 1
                if count >= arg:
                    os.kill(os.getpid(), signal.SIGKILL)
            return tracer

        sys.settrace(tracer)
        save_settings(target)
        sys.settrace(None)
        ack(start + 1)  # the kill point was past the end of the save
        os.kill(os.getpid(), signal.SIGKILL)
    n = start
    while True:  # "async": killed from outside
        save_settings(settings_version(n))
        ack(n)
        n += 1


def _count_save_events(scope: str) -> int:
    from nango_desktop.settings import save_settings

    count = 0

    def tracer(frame, event, _arg):
        nonlocal count
        count += _counts(frame, scope)
        return tracer

    target = settings_version(1)
    sys.settrace(tracer)
    save_settings(target)
    sys.settrace(None)
    return count


def settings_writer_main(scope: str) -> None:
    """Reads commands ``<mode> <start> <arg>`` on stdin; forks a writer per command, SIGKILLs it (mode
    "async": after ``arg`` acknowledged saves; "trace": it kills itself at trace event ``arg``), then prints
    ``{"acked": [...], "signal": n}``. First prints ``{"events": n}`` (trace events of one save)."""
    from nango_desktop.settings import save_settings

    save_settings(settings_version(0))
    print(json.dumps({"events": _count_save_events(scope)}), flush=True)
    save_settings(settings_version(0))
    for line in sys.stdin:
        mode, start, arg = line.split()
        read_fd, write_fd = os.pipe()
        pid = os.fork()
        if pid == 0:  # the writer
            os.close(read_fd)
            try:
                _writer(mode, int(start), int(arg), write_fd, scope)
            finally:
                os._exit(3)  # only reached if the writer was not killed
        os.close(write_fd)
        acked: list[int] = []
        with os.fdopen(read_fd, "rb") as pipe:
            if mode == "async":
                while len(acked) < int(arg):
                    got = pipe.readline()
                    if not got:
                        break
                    acked.append(int(got))
                os.kill(pid, signal.SIGKILL)
            acked += [int(x) for x in pipe.read().split()]  # EOF once the writer is dead
        _, status = os.waitpid(pid, 0)
        killed = os.WTERMSIG(status) if os.WIFSIGNALED(status) else -1
        print(json.dumps({"acked": acked, "signal": killed}), flush=True)


class SettingsKiller:
    """Drives the helper process from the test."""

    def __init__(self, home: Path, scope: str = "io") -> None:
        pythonpath = os.pathsep.join(filter(None, [str(REPO), os.environ.get("PYTHONPATH")]))
        env = {**os.environ, "NANGO_DESKTOP_HOME": str(home), "PYTHONPATH": pythonpath}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.integration.test_crash_safety", "settings-writer", scope],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        self.events = json.loads(self._line())["events"]

    def _line(self) -> str:
        line = self.proc.stdout.readline()
        if not line:
            raise AssertionError(f"settings helper exited with {self.proc.wait()}")
        return line

    def round(self, mode: str, start: int, arg: int) -> list[int]:
        self.proc.stdin.write(f"{mode} {start} {arg}\n")
        self.proc.stdin.flush()
        result = json.loads(self._line())
        assert result["signal"] == signal.SIGKILL, result
        return result["acked"]

    def close(self) -> None:
        self.proc.stdin.close()
        assert self.proc.wait(timeout=60) == 0
        self.proc.stdout.close()


def check_settings_file(previous: int, candidates: set[int]) -> int:
    """The file parses and is exactly one of the candidate versions (or the previous one); returns which."""
    raw = settings_path().read_bytes()
    parsed = Settings.model_validate_json(raw)  # raises on a torn or empty file
    for n in sorted(candidates | {previous}):
        if parsed == settings_version(n):
            return n
    raise AssertionError(f"the settings file is none of versions {sorted(candidates | {previous})}")


def run_settings_kills(
    home: Path, *, async_rounds: int, scope: str = "io", seed: int = SEED
) -> dict[str, int]:
    """Kill at every trace event (of ``scope``) of one save, plus ``async_rounds`` outside kills."""
    rng = random.Random(seed)
    killer = SettingsKiller(home, scope)
    current, start, kills = 0, 1, 0
    try:
        plan = [("trace", k) for k in range(1, killer.events + 2)]  # every event, and one past the end
        plan += [("async", rng.randint(1, 25)) for _ in range(async_rounds)]
        rng.shuffle(plan)
        for mode, arg in plan:
            acked = killer.round(mode, start, arg)
            last = acked[-1] if acked else current
            current = check_settings_file(current, {last, last + 1})
            kills += 1
            start = max(acked, default=start) + 2  # fresh version numbers for the next round
    finally:
        killer.close()
    leftovers = [p for p in settings_path().parent.iterdir() if p.name != settings_path().name]
    return {"kills": kills, "events_per_save": killer.events, "temp_files_left": len(leftovers)}


def test_sigkill_at_every_step_of_a_settings_save_leaves_old_or_new(tmp_home):
    figures = run_settings_kills(tmp_home, async_rounds=15)
    assert figures["kills"] >= 30
    loaded = load_settings()
    assert loaded.load_problem is None and len(loaded.profiles) == 30
    # what a crash can leave behind is an orphaned temporary file, never a damaged profiles.json
    leftovers = [p.name for p in settings_path().parent.iterdir() if p.name != "profiles.json"]
    assert all(name.startswith(".profiles.json.") and name.endswith(".tmp") for name in leftovers)


# -- webhooks ------------------------------------------------------------------------------------------------


def _stored_ids(path: Path) -> tuple[str, list[str]]:
    """(integrity_check, connection ids) of the store as the crash left it (opening runs WAL recovery)."""
    conn = sqlite3.connect(path)
    try:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        ids = [row[0] for row in conn.execute("SELECT connection_id FROM events")]
    finally:
        conn.close()
    return integrity, ids


def run_webhook_kills(home: Path, *, events: int, kills: int, seed: int = SEED) -> dict[str, int]:
    """Nango-like bursts of ``events`` deliveries in ``kills + 1`` waves; during each of the first ``kills``
    waves the listener is SIGKILLed after a random number of acknowledged events, the store as the crash left
    it is checked, and the listener restarted (same port, same store). Finally the unacknowledged events are
    delivered again, as Nango would. Asserts as it goes; returns the figures."""
    from tests.integration.test_webhook_durability import NangoLikeSender, _start_listener
    from tests.webhook_helpers import free_port

    rng = random.Random(seed)
    port = free_port()
    sender = NangoLikeSender(f"http://127.0.0.1:{port}/webhooks/nango")
    ids = [f"crash-{i}" for i in range(events)]
    waves = [ids[i :: kills + 1] for i in range(kills + 1)]
    store_path = event_store_path("default")
    proc = _start_listener(port, home)
    try:
        for wave in waves[:kills]:
            before = len(sender.acked)
            point = before + rng.randint(len(wave) // 10, len(wave) * 8 // 10)
            burst = threading.Thread(target=sender.burst, args=(wave,))
            burst.start()
            with sender.lock:
                assert sender.lock.wait_for(lambda p=point: len(sender.acked) >= p, timeout=120)
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            proc.stderr.close()
            assert proc.returncode == -signal.SIGKILL
            burst.join()  # the rest of the wave fails against the dead listener
            integrity, stored = _stored_ids(store_path)
            assert integrity == "ok"
            missing = sender.acked - set(stored)
            assert not missing, f"{len(missing)} acknowledged events lost in a crash"
            assert sender.failed, "the kill came after the wave: nothing was tested"
            proc = _start_listener(port, home)
        sender.burst(waves[-1])
        for _ in range(3):  # Nango delivers the unacknowledged ones again later
            if not sender.failed:
                break
            sender.burst(sorted(sender.failed))
        assert not sender.failed
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=20) == 0, proc.stderr.read().decode()
        proc.stderr.close()
    integrity, stored = _stored_ids(store_path)
    assert integrity == "ok"
    assert len(stored) == len(set(stored))  # retries of committed-but-unanswered events deduplicated
    assert set(stored) == set(ids) == sender.acked
    return {"events": events, "kills": kills, "lost": len(set(ids) - set(stored)), "stored": len(stored)}


def test_repeated_sigkill_during_a_webhook_burst_loses_nothing(tmp_home):
    figures = run_webhook_kills(tmp_home, events=1200, kills=2)
    assert figures["lost"] == 0 and figures["stored"] == 1200


if __name__ == "__main__" and sys.argv[1:2] == ["settings-writer"]:
    settings_writer_main(sys.argv[2])
