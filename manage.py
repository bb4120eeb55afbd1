#!/usr/bin/env python
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "petstore.settings")
    if not os.environ.get("REDIS_URL"):
        # Beside a running `make run`: its Redis and Stripe server (petstore/local_services.py).
        from petstore.local_services import running_services

        for key, value in running_services().items():
            os.environ.setdefault(key, value)
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
