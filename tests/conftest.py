"""Suite-wide settings."""
import pytest

from tests import properties
from tests.lab import igd_server

properties.load()


@pytest.fixture(autouse=True)
def no_profile_of_this_machine(tmp_path_factory, monkeypatch):
    """A profile in the developer's ~/.config would change verdicts (diagnose/profile_search.py)."""
    empty = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(empty))
    monkeypatch.setenv("XDG_CONFIG_DIRS", str(empty))


@pytest.fixture
def igd_factory():
    """Test routers (UPnP IGD on loopback) made on demand, all closed after the test."""
    running = []

    def make(ssdp_thread=True, **settings):
        server = igd_server.serve(igd_server.Config(**settings), ssdp_thread)
        running.append(server)
        return server
    yield make
    for server in running:
        server.close()
