"""`make run`'s launcher: the environment it gives web, worker and beat."""

from petstore.devrun import child_env


def test_make_run_leaves_debug_off_unless_asked():
    # It used to force DEBUG=true: Django's debug pages (settings and tracebacks) for anyone.
    assert "DEBUG" not in child_env({"PATH": "/usr/bin"})
    assert child_env({"DEBUG": "true"})["DEBUG"] == "true"  # a developer's explicit choice
