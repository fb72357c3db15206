"""Errors: one base, a status and code per area, one shape for every interface."""

from __future__ import annotations

import inspect

import pytest

from faceledger import errors


def error_classes() -> list[type[errors.FaceLedgerError]]:
    return [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, errors.FaceLedgerError)
    ]


@pytest.mark.parametrize("cls", error_classes(), ids=lambda c: c.__name__)
def test_every_error_has_status_code_doc_and_shape(cls: type[errors.FaceLedgerError]) -> None:
    assert 400 <= cls.status <= 599
    assert cls.code and cls.code.islower()
    assert cls.__doc__
    error = cls("Something a person can read.", field="x")
    assert error.to_dict() == {
        "error": {
            "code": cls.code,
            "message": "Something a person can read.",
            "details": {"field": "x"},
        }
    }


def test_codes_are_unique() -> None:
    # A class with its own code has a code no other class has; a subclass may keep its
    # parent's code to refine only the status (ImageTooLarge: an invalid_image answered 413).
    own = [cls.code for cls in error_classes() if "code" in vars(cls)]
    assert len(own) == len(set(own))
    for cls in error_classes():
        if "code" not in vars(cls):
            assert any(cls.code == vars(base).get("code") for base in cls.__mro__[1:]), cls
