"""Run the reference main server: `python -m sync.reference_server --port 5001 --db PATH`."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from sync.reference_server.server import Faults, make_server


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m sync.reference_server",
                                     description="Reference main server for back-registration (demo and tests).")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5001, help="0 picks a free port (printed on start)")
    parser.add_argument("--db", required=True, help="path of the server's own SQLite store")
    parser.add_argument("--token", default=os.environ.get("REFERENCE_SERVER_TOKEN"),
                        help="require this bearer token on /api/v1 (default: $REFERENCE_SERVER_TOKEN, none)")
    parser.add_argument("--seed", type=int, default=None, help="seed for the random faults")
    parser.add_argument("--synchronous", choices=("FULL", "NORMAL"), default="FULL",
                        help="SQLite synchronous mode of the store (FULL: durable before every answer)")
    parser.add_argument("--down", action="store_true", help="start answering 503")
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--commit-delay-ms", type=int, default=0, help="hold each batch's transaction this long")
    parser.add_argument("--reply-delay-ms", type=int, default=0, help="wait after a batch commits, before answering")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of /api calls answered 500")
    parser.add_argument("--drop-after-commit-rate", type=float, default=0.0,
                        help="share of batches committed and then left without an answer")
    parser.add_argument("--log-level", default="WARNING")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(name)s %(levelname)s %(message)s")
    faults = Faults(down=args.down, latency_ms=args.latency_ms, commit_delay_ms=args.commit_delay_ms,
                    reply_delay_ms=args.reply_delay_ms,
                    error_rate=args.error_rate, drop_after_commit_rate=args.drop_after_commit_rate)
    server = make_server(args.host, args.port, args.db, token=args.token, faults=faults, seed=args.seed,
                         synchronous=args.synchronous)

    def stop(_signum: int, _frame: object) -> None:
        # shutdown() waits for serve_forever to return, so it cannot run on the serving thread.
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    host, port = server.server_address[:2]
    print(f"reference main server listening on http://{host}:{port} (store {args.db})", flush=True)
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
        server.store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
