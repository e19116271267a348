"""pytest wiring of the client-contract tests: the fixture file (loaded at
collection, so that an unreadable or empty one fails the run), one test
per fixture entry for tests that take config_entry or verify_entry, the
official clients for each key, the storage configs the tests create, and
a check after every test that no secret showed in any response."""

from __future__ import annotations

from typing import Any

import pytest

import support

FX = support.load_fixture()
SECRETS = support.secrets_of(FX)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    for name, key in (("config_entry", "configs"), ("verify_entry", "verify")):
        if name in metafunc.fixturenames:
            entries = FX[key]
            metafunc.parametrize(name, entries, ids=[e["label"] for e in entries])


@pytest.fixture(scope="session")
def fx() -> dict[str, Any]:
    return FX


@pytest.fixture(scope="session")
def av(fx):
    """avala clients by role: admin, member, viewer, other_admin."""
    clients = {role: support.avala_client(fx, key) for role, key in fx["keys"].items()}
    yield clients
    for c in clients.values():
        c.close()


@pytest.fixture(scope="session")
def ei_api(fx):
    """edgeimpulse-api OrganizationDataApi by role."""
    return {role: support.ei_api(fx, key) for role, key in fx["keys"].items()}


class Stored:
    """The configs of the fixture, each created once in the fixture's org
    with the admin key on first use; a failed create fails every test that
    asks for that label, with the same error."""

    def __init__(self, fx: dict[str, Any], client) -> None:
        self._fx, self._client = fx, client
        self._done: dict[str, support.Created | BaseException] = {}

    def get(self, label: str) -> support.Created:
        if label not in self._done:
            body = next(e["body"] for e in self._fx["configs"] if e["label"] == label)
            try:
                self._done[label] = support.create(self._client, label, body)
            except Exception as e:  # re-raised for every test that needs it
                support.RECORDER.add(str(e))
                self._done[label] = e
        got = self._done[label]
        if isinstance(got, BaseException):
            raise AssertionError(f"creating the {label} config failed: {type(got).__name__}: {got}") from got
        return got

    def all(self) -> list[support.Created]:
        return [self.get(e["label"]) for e in self._fx["configs"]]


@pytest.fixture(scope="session")
def stored(fx, av) -> Stored:
    """The fixture's configs, created in its org on first use."""
    return Stored(fx, av["admin"])


@pytest.fixture(scope="session")
def other_stored(fx, av) -> support.Created:
    """The first fixture config, created in the other org with its admin."""
    e = fx["configs"][0]
    return support.create(av["other_admin"], e["label"], e["body"])


@pytest.fixture(autouse=True)
def no_secret_leaks():
    """Fails the test when a response or exception text seen during it
    carries a secret of the fixture (an API key or a credential)."""
    start = len(support.RECORDER.texts)
    yield
    found = support.RECORDER.leaks(SECRETS, start)
    assert not found, f"{len(found)} responses carry a secret of the fixture:\n" + "\n".join(found[:3])

