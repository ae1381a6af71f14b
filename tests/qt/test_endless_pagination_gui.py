"""Issue 18: the Connections page's loader stops an endless listing with the error and keeps its rows."""

from __future__ import annotations

from nango_desktop.services.api import NangoClient
from nango_desktop.services.pagination import EndlessPaginationError
from nango_desktop.ui.connections.model import ConnectionsModel
from tests.integration.test_endless_pagination import Endless


def test_gui_load_of_a_repeating_server_fails_clearly_and_keeps_the_rows(qtbot):
    server = Endless("same")
    client = NangoClient(server.url, "sk-test-endless")
    try:
        model = ConnectionsModel(lambda: client, page_size=20)
        failures: list[BaseException] = []
        model.loadFailed.connect(failures.append)
        with qtbot.waitSignal(model.loadFinished, timeout=20_000) as blocker:
            model.load()
        assert blocker.args == [False]
        assert len(failures) == 1 and isinstance(failures[0], EndlessPaginationError)
        assert failures[0].title == "The server repeats the same page of connections; the listing was stopped"
        assert model.rowCount() == 20 and not model.is_complete
    finally:
        client.close()
        server.close()
