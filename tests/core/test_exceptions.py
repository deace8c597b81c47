"""Our exceptions survive Python's exception machinery: none is a frozen dataclass (Python sets
`__traceback__` on an exception passing through a context manager, which a frozen dataclass
refuses, turning a client refusal into FrozenInstanceError, i.e. soap:Server)."""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import inspect
import pkgutil

import pytest

import client
import soap_service
from soap_service.store.traffic_store import InvalidObservation


def _exception_classes() -> list[type[BaseException]]:
    found = []
    for package in (soap_service, client):
        for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
            if info.name.endswith("__main__"):
                continue
            module = importlib.import_module(info.name)
            for _, obj in inspect.getmembers(module, inspect.isclass):
                if issubclass(obj, BaseException) and obj.__module__ == module.__name__:
                    found.append(obj)
    return found


def test_no_exception_is_a_frozen_dataclass() -> None:
    classes = _exception_classes()
    assert len(classes) > 10
    frozen = [c.__qualname__ for c in classes
              if dataclasses.is_dataclass(c) and c.__dataclass_params__.frozen]  # type: ignore[attr-defined]
    assert frozen == []


def test_a_refused_observation_passes_through_context_managers() -> None:
    @contextlib.contextmanager
    def held():  # noqa: ANN202
        yield

    with pytest.raises(InvalidObservation) as caught, held():
        raise InvalidObservation(3, "out-of-range", "observedAt is too old")
    assert (caught.value.index, caught.value.kind) == (3, "out-of-range")
    assert str(caught.value) == "observation 3: observedAt is too old"
