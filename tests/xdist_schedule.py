"""How `make test` shares the suite between two processes (pytest-xdist): whole test files
go to whichever process is free, except the tests that run a real vLLM engine, which go
together, first, to one process.

Why: those tests (the `vllm` mark: in-process vLLM, `vllm serve`, Ray) each want both cores.
Run at once on the two processes they slowed each other three-fold (the Ray test took 432 s
beside the vLLM walk, 122 s alone); run one after another on one process, the other process
meanwhile takes the rest of the suite. Whole files keep each module's fixtures (a signed
run, a server) built once.
"""

from __future__ import annotations

import pytest
from xdist.remote import Producer
from xdist.scheduler import LoadGroupScheduling

ENGINE_GROUP = "real-engines"


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the engine tests first, in one xdist group (the group xdist's own hook, which runs
    after this one, turns into a suffix of the test's id)."""
    engines = [item for item in items if item.get_closest_marker("vllm") is not None]
    for item in engines:
        item.add_marker(pytest.mark.xdist_group(ENGINE_GROUP))
    rest = [item for item in items if item.get_closest_marker("vllm") is None]
    items[:] = engines + rest


class EnginesFirstByFile(LoadGroupScheduling):  # type: ignore[misc]  # xdist is untyped
    """xdist's group scheduling with a file as the unit for tests outside any group, and the
    units handed out in collection order (the engine group first)."""

    def __init__(self, config: pytest.Config, log: Producer | None = None) -> None:
        super().__init__(config, log)
        config.option.loadscopereorder = False  # keep the engines first

    def _split_scope(self, nodeid: str) -> str:
        if nodeid.rfind("@") > nodeid.rfind("]"):
            return nodeid.split("@")[-1]
        return nodeid.split("::", 1)[0]


def pytest_xdist_make_scheduler(config: pytest.Config, log: Producer
                                ) -> LoadGroupScheduling | None:
    if config.getvalue("dist") != "loadgroup":
        return None  # another mode asked for by name: xdist's own
    return EnginesFirstByFile(config, log)
