"""``python -m stripe_emulator --host 127.0.0.1 --port 12111 [--state-file PATH]
[--secret-key sk_test_...]``: prints the base URL when ready; SIGINT/SIGTERM stop it."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading

from .server import StripeServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m stripe_emulator", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=12111)
    parser.add_argument(
        "--state-file", default=None, help="JSON file that keeps state across restarts"
    )
    parser.add_argument(
        "--secret-key", default=None, help="accept only this key (default: any sk_test_ key)"
    )
    parser.add_argument("--log-level", default="WARNING")
    args = parser.parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(message)s")

    server = StripeServer(
        args.host, args.port, state_file=args.state_file, secret_key=args.secret_key
    )
    stop = threading.Event()

    def _stop(_signum: int, _frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    server.start()
    print(server.url, flush=True)
    stop.wait()
    server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
