"""`make run`'s launcher: the environment it gives web, worker and beat."""

import os

from petstore.devrun import run_env


def test_make_run_leaves_debug_off_unless_asked(tmp_path, monkeypatch):
    # It used to force DEBUG=true: Django's debug pages (settings and tracebacks) for anyone.
    monkeypatch.delenv("DEBUG", raising=False)
    assert "DEBUG" not in run_env(tmp_path)
    (tmp_path / ".env").write_text("DEBUG=true\n")  # a developer's explicit choice stands
    assert run_env(tmp_path)["DEBUG"] == "true"


def test_make_run_refuses_a_redis_cluster_without_a_broker(tmp_path):
    """Celery has no Redis Cluster transport: `make run` says so and starts nothing."""
    import subprocess
    import sys

    from django.conf import settings

    env = {k: v for k, v in os.environ.items() if k not in ("CELERY_BROKER_URL", "STRIPE_API_BASE")}
    env.update(REDIS_CLUSTER="true", REDIS_URL="redis://127.0.0.1:1/0")
    done = subprocess.run(
        [sys.executable, "-m", "petstore.devrun"],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "cannot start: REDIS_CLUSTER=true needs CELERY_BROKER_URL" in done.stdout
    assert "local Stripe server" not in done.stdout  # nothing was started


def test_manage_py_beside_make_run_finds_its_servers(tmp_path):
    """A `manage.py shell` beside `make run` reaches make run's Redis (a plan edited there bumps
    the rules version the running app reads), not a throwaway one; a file a killed run left
    behind is ignored."""
    import socket

    from petstore.local_services import running_services, services_forget, services_write

    path = tmp_path / "services.env"
    assert running_services(path) == {}
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        env = {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "STRIPE_API_BASE": "http://127.0.0.1:12111",
            "SECRET_KEY": "not written",
        }
        services_write(env, path)
        assert running_services(path) == {
            "REDIS_URL": f"redis://127.0.0.1:{port}/0",
            "STRIPE_API_BASE": "http://127.0.0.1:12111",
        }
    assert running_services(path) == {}  # nothing answers there any more: a stale file
    services_forget(path)
    assert not path.exists()
