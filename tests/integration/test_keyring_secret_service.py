"""SecretStore against a REAL Secret Service (gnome-keyring under dbus-run-session, see tests/run.sh).

Skipped with a reason when no D-Bus session bus or no Secret Service is reachable. Every test then checks
that no file under NANGO_DESKTOP_HOME contains the secrets it used.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import subprocess
import sys
import threading
import uuid
from contextlib import closing
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail, null

from nango_desktop import cli
from nango_desktop.services.secrets import SERVICE, SecretKind, SecretStore, SecretStoreUnavailable
from nango_desktop.settings import Profile, Settings, save_settings

pytestmark = [
    pytest.mark.keyring,
    # keyring's SecretService backend leaks its D-Bus socket when a collection is missing or stays locked
    # (it raises before closing it). Those sockets are collected at the end of each test, below.
    pytest.mark.filterwarnings("ignore::ResourceWarning"),
    pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning"),
]

REPO = Path(__file__).resolve().parents[2]
GUILT_IFACE = "org.gnome.keyring.InternalUnsupportedGuiltRiddenInterface"


def _secret_service_problem() -> str | None:
    if not os.environ.get("DBUS_SESSION_BUS_ADDRESS"):
        return "no D-Bus session bus (run the tests through tests/run.sh: dbus-run-session + gnome-keyring)"
    try:
        from keyring.backends.SecretService import Keyring

        Keyring.priority  # noqa: B018 - raises when the service is not reachable
    except Exception as exc:
        return f"no Secret Service reachable: {exc}"
    return None


@pytest.fixture(autouse=True)
def _collect_leaked_sockets():
    yield
    gc.collect()


@pytest.fixture
def secret_service():
    problem = _secret_service_problem()
    if problem:
        pytest.skip(problem)
    from keyring.backends.SecretService import Keyring

    return Keyring()


@pytest.fixture
def profile_name():
    return f"test-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def used_secrets(tmp_home):
    """Tests append the secrets they used; afterwards no file under the app home may contain one."""
    secrets: list[str] = []
    yield secrets
    for path in tmp_home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            leaked = [s for s in secrets if s.encode() in data]
            assert not leaked, f"secret found in {path}"


def _find_items(profile: str, kind: SecretKind):
    import secretstorage

    conn = secretstorage.dbus_init()
    collection = secretstorage.get_default_collection(conn)
    return conn, list(collection.search_items({"service": SERVICE, "username": f"{profile}:{kind}"}))


def test_store_read_delete_through_the_real_secret_service(secret_service, profile_name, used_secrets):
    key = f"nango-key-{uuid.uuid4()}"
    used_secrets.append(key)
    store = SecretStore(secret_service)
    assert store.is_secure
    assert store.backend_name.startswith("Secret Service")
    if shutil.which("gnome-keyring-daemon"):
        assert store.backend_name == "Secret Service (GNOME Keyring)"
    try:
        store.set(profile_name, SecretKind.API_KEY, key)
        conn, items = _find_items(profile_name, SecretKind.API_KEY)
        with closing(conn):
            assert len(items) == 1 and items[0].get_secret().decode() == key
        assert store.get(profile_name, SecretKind.API_KEY) == key
        # A fresh store (a new run of the app) reads it from the keyring, not from memory.
        assert SecretStore(secret_service).get(profile_name, SecretKind.API_KEY) == key
    finally:
        store.delete(profile_name, SecretKind.API_KEY)
    assert store.get(profile_name, SecretKind.API_KEY) is None
    conn, items = _find_items(profile_name, SecretKind.API_KEY)
    conn.close()
    assert items == []


def test_profile_add_puts_the_key_in_the_keyring_not_in_files(
    secret_service, profile_name, used_secrets, monkeypatch, capsys
):
    key = f"nango-key-{uuid.uuid4()}"
    used_secrets.append(key)
    monkeypatch.setattr(keyring.core, "_keyring_backend", secret_service)
    try:
        code = cli.main(
            ["profile", "add", profile_name, "--url", "http://127.0.0.1:9"], stdin=io.StringIO(key + "\n")
        )
        assert code == 0, capsys.readouterr().err
        assert "Secret Service" in capsys.readouterr().out
        assert SecretStore(secret_service).get(profile_name, SecretKind.API_KEY) == key
    finally:
        assert cli.main(["profile", "remove", profile_name]) == 0
    assert SecretStore(secret_service).get(profile_name, SecretKind.API_KEY) is None


def test_key_deleted_outside_the_app(secret_service, profile_name, used_secrets, monkeypatch, capsys):
    key = f"nango-key-{uuid.uuid4()}"
    used_secrets.append(key)
    store = SecretStore(secret_service)
    store.set(profile_name, SecretKind.API_KEY, key)
    conn, items = _find_items(profile_name, SecretKind.API_KEY)  # e.g. removed in Seahorse
    with closing(conn):
        for item in items:
            item.delete()
    assert store.get(profile_name, SecretKind.API_KEY) is None

    settings = Settings()
    settings.upsert(Profile(name=profile_name, api_url="http://127.0.0.1:9"))
    save_settings(settings)
    monkeypatch.setattr(keyring.core, "_keyring_backend", secret_service)
    assert cli.main(["connections", "list"]) == 1
    err = capsys.readouterr().err
    assert f"Error: No API key stored for profile “{profile_name}”" in err
    assert "profile add" in err


@pytest.fixture
def locked_collection(secret_service):
    """A throw-away collection created with a known password (gnome-keyring's test interface), locked."""
    import secretstorage
    from jeepney import DBusAddress, new_method_call
    from secretstorage.defines import SS_PATH
    from secretstorage.util import format_secret, open_session

    conn = secretstorage.dbus_init()
    session = open_session(conn)
    service = DBusAddress(SS_PATH, bus_name="org.freedesktop.secrets", interface=GUILT_IFACE)
    password = format_secret(session, b"test-password", "text/plain")
    label = {"org.freedesktop.Secret.Collection.Label": ("s", f"nango-desktop-test-{uuid.uuid4().hex[:6]}")}
    reply = conn.send_and_get_reply(
        new_method_call(service, "CreateWithMasterPassword", "a{sv}(oayays)", (label, password)), timeout=10
    )
    if not reply.body or not str(reply.body[0]).startswith("/"):
        conn.close()
        pytest.skip(f"this Secret Service cannot create a test collection ({GUILT_IFACE} missing)")
    path = reply.body[0]
    collection = secretstorage.Collection(conn, path)
    collection.lock()
    assert collection.is_locked()
    try:
        yield path
    finally:
        conn.send_and_get_reply(
            new_method_call(service, "UnlockWithMasterPassword", "o(oayays)", (path, password)), timeout=10
        )
        collection.delete()
        conn.close()


def test_locked_collection_gives_a_clear_message(secret_service, locked_collection, used_secrets):
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    backend.preferred_collection = locked_collection
    store = SecretStore(backend, timeout=5)
    used_secrets.append("never-stored-key")
    for call in (
        lambda: store.get("p", SecretKind.API_KEY),
        lambda: store.set("p", SecretKind.API_KEY, "never-stored-key"),
    ):
        with pytest.raises(SecretStoreUnavailable) as info:
            call()
        # Headless, the unlock prompt cannot be shown and is refused at once; with a display it waits for
        # the user until our timeout. Either way the user is told what is wrong and what to do.
        assert info.value.title in ("The system keyring is locked", "The system keyring is not responding")
        assert "Unlock" in info.value.detail or "unlock" in info.value.detail
    store.keep_in_memory("p", SecretKind.API_KEY, "never-stored-key")
    assert store.get("p", SecretKind.API_KEY) == "never-stored-key"


def test_backend_that_raises(secret_service):
    """The real backend pointed at a collection that does not exist: the Secret Service returns an error."""
    from keyring.backends.SecretService import Keyring

    backend = Keyring()
    backend.preferred_collection = "/org/freedesktop/secrets/collection/nango_desktop_missing"
    with pytest.raises(SecretStoreUnavailable) as info:
        SecretStore(backend).get("p", SecretKind.API_KEY)
    assert info.value.title == "The system keyring refused access"
    assert "InitError" in info.value.detail


@pytest.fixture
def silent_secret_service(tmp_path):
    """A private D-Bus bus where org.freedesktop.secrets is owned by a peer that never answers."""
    daemon = shutil.which("dbus-daemon")
    if not daemon:
        pytest.skip("dbus-daemon not installed")
    from jeepney.bus_messages import message_bus
    from jeepney.io.blocking import open_dbus_connection

    proc = subprocess.Popen(
        [daemon, "--session", "--nofork", "--print-address=1"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        address = proc.stdout.readline().strip()
        owner = open_dbus_connection(address)
        owner.send_and_get_reply(message_bus.RequestName("org.freedesktop.secrets"), timeout=10)
        yield address
        owner.close()
    finally:
        proc.terminate()
        proc.wait()
        proc.stdout.close()


def test_backend_that_hangs_times_out(secret_service, silent_secret_service, monkeypatch):
    from keyring.backends.SecretService import Keyring

    monkeypatch.setenv("DBUS_SESSION_BUS_ADDRESS", silent_secret_service)
    store = SecretStore(Keyring(), timeout=1)
    with pytest.raises(SecretStoreUnavailable) as info:
        store.get("p", SecretKind.API_KEY)
    assert info.value.title == "The system keyring is not responding"
    assert "did not answer within 1 s" in info.value.detail
    stuck = [t for t in threading.enumerate() if t.name == "keyring-call"]
    assert all(t.daemon for t in stuck)  # a stuck call never blocks the app's exit


@pytest.mark.parametrize("backend", ["keyring.backends.fail.Keyring", "keyring.backends.null.Keyring"])
def test_cli_refuses_without_a_secure_backend(backend, tmp_home, used_secrets):
    """A real process with no usable keyring: the key is refused, nothing is written anywhere."""
    key = f"nango-key-{uuid.uuid4()}"
    used_secrets.append(key)
    env = {**os.environ, "PYTHON_KEYRING_BACKEND": backend, "NANGO_DESKTOP_HOME": str(tmp_home)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    proc = subprocess.run(
        [sys.executable, "-m", "nango_desktop", "profile", "add", "p", "--url", "http://127.0.0.1:9"],
        input=key + "\n",
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert proc.returncode == 1
    assert "Error: No secure keyring is available" in proc.stderr
    assert "memory for this run only" in proc.stderr
    assert key not in proc.stderr + proc.stdout
    assert not (tmp_home / "config" / "profiles.json").exists()


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()], ids=["fail", "null"])
def test_store_refuses_insecure_backends(backend):
    store = SecretStore(backend)
    assert not store.is_secure
    with pytest.raises(SecretStoreUnavailable, match="No secure keyring"):
        store.set("p", SecretKind.API_KEY, "whatever-key")
