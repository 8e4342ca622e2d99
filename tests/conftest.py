from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.databases import drop_created
from tests.support import Api, running_api


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Api]:
    async with running_api(tmp_path) as client:
        yield client


@pytest.fixture(scope="session", autouse=True)
async def _drop_test_databases() -> AsyncIterator[None]:
    """On PostgreSQL, every test made a database of its own: drop them at the end."""
    yield
    await drop_created()
