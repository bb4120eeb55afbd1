"""`make run`'s launcher: the environment it gives web, worker and beat."""

from petstore.devrun import run_env


def test_make_run_leaves_debug_off_unless_asked(tmp_path, monkeypatch):
    # It used to force DEBUG=true: Django's debug pages (settings and tracebacks) for anyone.
    monkeypatch.delenv("DEBUG", raising=False)
    assert "DEBUG" not in run_env(tmp_path)
    (tmp_path / ".env").write_text("DEBUG=true\n")  # a developer's explicit choice stands
    assert run_env(tmp_path)["DEBUG"] == "true"
