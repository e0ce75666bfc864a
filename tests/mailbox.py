"""A local SMTP server for tests (aiosmtpd on a loopback port): it keeps what it receives."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller


@dataclass
class Mailbox:
    host: str
    port: int
    messages: list[EmailMessage] = field(default_factory=list)

    def env(self, sender: str = "alerts@resilience.test") -> dict[str, str]:
        """The server settings that point the product at this mailbox."""
        return {
            "RESILIENCE_SMTP_HOST": self.host,
            "RESILIENCE_SMTP_PORT": str(self.port),
            "RESILIENCE_SMTP_FROM": sender,
        }


class _Keep:
    def __init__(self, box: Mailbox) -> None:
        self.box = box

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        msg = message_from_bytes(envelope.content, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        self.box.messages.append(msg)
        return "250 OK"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def mailbox() -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 for the duration of the block."""
    box = Mailbox("127.0.0.1", free_port())
    controller = Controller(_Keep(box), hostname=box.host, port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
