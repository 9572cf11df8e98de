"""This process's name as a lease owner: work claimed by it (imports, outbox messages, mail) is its own
until it renews or releases the claim, or the lease runs out after a crash."""

from __future__ import annotations

import os
import socket

INSTANCE_ID = f"{socket.gethostname()}:{os.getpid()}"
