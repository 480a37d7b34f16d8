"""How `make test` shares the suite between two processes (pytest-xdist): whole test files
go to whichever process is free, except the files whose tests run a real vLLM engine, which
go together, first, to one process.

Why: those tests (in-process vLLM, `vllm serve`, vLLM under Ray) each want both cores. Run
at once on the two processes they slowed each other three-fold (the Ray test took 432 s
beside the vLLM walk, 122 s alone); run one after another on one process, the other process
meanwhile takes the rest of the suite. Whole files keep each module's fixtures (a signed
run, a server) built once.

The engine files are named here rather than found by their `vllm` mark: the process that
hands out the work never collects the tests, and xdist's own groups (`xdist_group`) do not
reach it under pytest 9. `test_every_engine_test_is_in_an_engine_file` keeps the list whole.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadFileScheduling

ENGINE_FILES = ("tests/test_vllm_real.py", "tests/test_openai_real_server.py",
                "tests/test_ray_backend.py")
ENGINE_UNIT = "real-engines"


def file_of(nodeid: str) -> str:
    return nodeid.split("::", 1)[0]


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The engine files' tests first (a stable sort: each file's own order is kept)."""
    items.sort(key=lambda item: file_of(item.nodeid) not in ENGINE_FILES)


class EnginesFirstByFile(LoadFileScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's file scheduling with the engine files as one unit, and the units handed out in
    collection order (so the engine unit first) instead of largest first."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False

    def _split_scope(self, nodeid: str) -> str:
        return ENGINE_UNIT if file_of(nodeid) in ENGINE_FILES else file_of(nodeid)


@pytest.hookimpl(optionalhook=True)  # `pytest -p no:xdist` leaves the hook undeclared
def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer
                                ) -> LoadFileScheduling | None:
    if config.getvalue("dist") != "loadfile":
        return None  # another mode asked for by name: xdist's own
    return EnginesFirstByFile(config, log)
