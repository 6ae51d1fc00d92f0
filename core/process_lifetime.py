"""Processes that must not outlive the process that started them.

A web server's worker runs app code the server started it for. If the server's main process is
SIGKILLed (an orchestrator's hard stop, the OOM killer), no handler of its own runs and granian's
workers would go on serving the old code on the same port, unsupervised, beside whatever is started
next (SO_REUSEPORT lets both listen). Linux signals a process whose parent died if asked to; on other
systems this is a no-op.
"""
from __future__ import annotations

import ctypes
import os
import signal
import sys

_PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def end_with_parent(sig: signal.Signals = signal.SIGTERM) -> bool:
    """Ask the kernel to send `sig` to this process when its parent dies; return whether it will.

    The parent is read before and after the request: if it died in between, this process has already
    been handed to another parent and would never get the signal, so it is sent at once.
    """
    if not sys.platform.startswith("linux"):
        return False
    parent = os.getppid()
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0) != 0:
        return False
    if os.getppid() != parent:
        os.kill(os.getpid(), sig)
    return True
