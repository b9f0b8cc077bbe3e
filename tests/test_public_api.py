"""``qa.__all__`` is exactly the public API: every name in it resolves, nothing public is left out,
and every error the library raises can be caught from the package root."""

import inspect
import types

import qa
import qa.errors


def test_all_names_resolve():
    for name in qa.__all__:
        assert getattr(qa, name) is not None, name


def test_nothing_public_is_missing_from_all():
    public = {
        n for n in dir(qa) if not n.startswith("_") and not isinstance(getattr(qa, n), types.ModuleType)
    }
    assert public <= set(qa.__all__)


def test_every_error_is_exported():
    errors = {
        n
        for n, o in vars(qa.errors).items()
        if inspect.isclass(o) and issubclass(o, Exception) and o.__module__ == "qa.errors"
    }
    assert errors <= set(qa.__all__)
    assert all(issubclass(getattr(qa, n), qa.QAError) for n in errors)
