#!/usr/bin/env python3
"""SMTP sink for storekey's tests: a real SMTP server (aiosmtpd) on loopback.

Usage:
    python3 smtp_sink.py --port 0 --maildir DIR [--auth-user U --auth-pass P]

Prints exactly one line, ``smtp listening on 127.0.0.1:PORT``, once the server
accepts connections. Each received message is stored as ``DIR/<n>.eml`` (the
raw DATA bytes), with the envelope recipients in ``DIR/<n>.rcpt`` (one per
line) and, when the client authenticated, its login in ``DIR/<n>.auth``.
Sidecars are written before the .eml, and every file is written to a temporary
name and renamed, so a reader that sees ``<n>.eml`` sees all of it.
With --auth-user/--auth-pass, AUTH PLAIN/LOGIN is offered over plain text
(loopback only) and required before MAIL FROM.
Runs until SIGTERM or SIGINT, then exits 0. Needs ``pip install aiosmtpd``.
"""

import argparse
import logging
import os
import signal
import socket
import sys
import threading
import warnings

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:  # pragma: no cover - exercised only on a bare machine
    print("smtp_sink: aiosmtpd is missing: pip install aiosmtpd", file=sys.stderr)
    sys.exit(2)

HOST = "127.0.0.1"

# Loopback test server: plain-text AUTH is intended, so keep aiosmtpd's
# warnings about it (and its own deprecated login_data use) off stderr.
warnings.filterwarnings("ignore", message="Requiring AUTH while not requiring TLS")
warnings.filterwarnings("ignore", message="Session.login_data is deprecated")
logging.getLogger("mail.log").setLevel(logging.ERROR)


def write_atomic(path, data):
    tmp = os.path.join(os.path.dirname(path), "." + os.path.basename(path) + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def existing_max(maildir):
    best = 0
    for name in os.listdir(maildir):
        stem, ext = os.path.splitext(name)
        if ext == ".eml" and stem.isdigit():
            best = max(best, int(stem))
    return best


class Sink:
    def __init__(self, maildir):
        self.maildir = maildir
        self.lock = threading.Lock()
        self.count = existing_max(maildir)

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
            n = self.count
        base = os.path.join(self.maildir, str(n))
        rcpts = "".join(r + "\n" for r in envelope.rcpt_tos)
        write_atomic(base + ".rcpt", rcpts.encode("utf-8"))
        auth = getattr(session, "auth_data", None)
        if isinstance(auth, LoginPassword):
            write_atomic(base + ".auth", auth.login + b"\n")
        data = envelope.original_content
        if data is None:
            data = envelope.content
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        write_atomic(base + ".eml", data)
        return "250 OK message accepted"


class Authenticator:
    def __init__(self, user, password):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.user
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, default=0, help="0 picks a free port")
    ap.add_argument("--maildir", required=True)
    ap.add_argument("--auth-user")
    ap.add_argument("--auth-pass")
    args = ap.parse_args()
    if (args.auth_user is None) != (args.auth_pass is None):
        ap.error("--auth-user and --auth-pass go together")

    os.makedirs(args.maildir, exist_ok=True)
    kwargs = {
        # A fixed name: socket.getfqdn() can stall on a machine without DNS.
        "server_hostname": "smtp-sink.localhost",
        "ready_timeout": 10.0,
    }
    if args.auth_user is not None:
        kwargs.update(
            authenticator=Authenticator(args.auth_user, args.auth_pass),
            auth_required=True,
            auth_require_tls=False,
        )

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())

    # aiosmtpd's Controller cannot start on port 0 (it connects to its own
    # port to check readiness), so pick a free port first; retry on a race.
    controller = None
    attempts = 1 if args.port else 5
    for attempt in range(attempts):
        port = args.port or free_port()
        controller = Controller(Sink(args.maildir), hostname=HOST, port=port, **kwargs)
        try:
            controller.start()
            break
        except Exception as e:  # bind race or readiness timeout
            controller = None
            if attempt + 1 == attempts:
                print(f"smtp_sink: cannot start on {HOST}:{port}: {e}", file=sys.stderr)
                return 1

    print(f"smtp listening on {HOST}:{port}", flush=True)
    try:
        while not stop.wait(1.0):
            pass
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
