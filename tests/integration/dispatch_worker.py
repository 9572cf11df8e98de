"""A supplier dispatcher in its own process, for the crash test (`test_dispatch_crash.py`).

    python -m tests.integration.dispatch_worker <database-url> <owner>
    python -m tests.integration.dispatch_worker <database-url> <owner> --forks

It takes the credentials secret from `WAYBILL_SECRET_KEY`, binds the database and sends due supplier
messages as lease owner `<owner>` until no pending supplier message is left, then exits 0.

With `--forks` it starts dispatchers on demand instead, by forking itself once everything is imported
(starting Python and importing Waybill takes about a second; a fork, milliseconds), so a test can
kill many of them in a short time. Commands on stdin, one per line:

- `start`: fork a dispatcher (lease owner `<owner>-<n>`), which prints `ready <pid>` once it has bound
  the database, then sends as above;
- `reap <pid>`: wait for that dispatcher to end and print `exit <code>` (minus the signal number when
  a signal ended it, as `subprocess` does);
- end of input: kill and reap the dispatchers still running, and exit.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys

import httpx

from jobs.supplier_dispatch import dispatch_supplier_due
from models import db
from models.accounts import credentials
from models.channels.outbox import PENDING
from models.db.tables import OutboxMessage

#: Messages claimed at a time (a killed dispatcher leaves them all leased).
LIMIT = 3
#: How long to wait before asking again when every pending message is leased or backing off.
IDLE_S = 0.1


async def pending_supplier_messages() -> int:
    return await OutboxMessage.count().where(
        (OutboxMessage.state == PENDING) & (OutboxMessage.target_kind == "supplier")
    )


async def dispatch(database_url: str, owner: str, announce: bool = False) -> int:
    credentials.configure(os.environ["WAYBILL_SECRET_KEY"])
    db.bind(db.engine_for(database_url))
    await db.start_pool(max_size=4)
    try:
        if announce:
            print(f"ready {os.getpid()}", flush=True)
        async with httpx.AsyncClient(timeout=10) as client:
            while await pending_supplier_messages():
                if not await dispatch_supplier_due(client, owner, LIMIT):
                    await asyncio.sleep(IDLE_S)
        return 0
    finally:
        await db.close_pool()


def serve_forks(database_url: str, owner: str) -> int:
    running: set[int] = set()
    for number, line in enumerate(sys.stdin, 1):
        command, _, argument = line.strip().partition(" ")
        if command == "start":
            sys.stdout.flush()
            pid = os.fork()
            if pid == 0:  # the dispatcher: never returns into the command loop
                code = 1
                try:
                    code = asyncio.run(dispatch(database_url, f"{owner}-{number}", announce=True))
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            running.add(pid)
        elif command == "reap" and argument.isdigit() and int(argument) in running:
            pid = int(argument)
            _, status = os.waitpid(pid, 0)
            running.discard(pid)
            print(f"exit {os.waitstatus_to_exitcode(status)}", flush=True)
        else:
            print(f"error unknown command {line.strip()!r}", flush=True)
    for pid in running:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    return 0


def main() -> None:
    arguments = sys.argv[1:]
    forks = "--forks" in arguments
    if forks:
        arguments.remove("--forks")
    if len(arguments) != 2:
        sys.exit(__doc__)
    database_url, owner = arguments
    sys.exit(serve_forks(database_url, owner) if forks else asyncio.run(dispatch(database_url, owner)))


if __name__ == "__main__":
    main()
