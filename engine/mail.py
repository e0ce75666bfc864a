"""Alert emails through the SMTP server the deployment names (none: alerts stay in the app).

The server configuration is the environment of the process that publishes (the app's server, or
the shell running the CLI), like the other server settings:

    RESILIENCE_SMTP_HOST   the relay's host name or address (unset: no email is sent)
    RESILIENCE_SMTP_PORT   its port (default 25)
    RESILIENCE_SMTP_FROM   the sender address (default resilience@<host name>)
    RESILIENCE_SMTP_STARTTLS  "1" to upgrade the connection with STARTTLS before sending

The relay is trusted to accept mail from this host (no password is kept by the product).
"""

from __future__ import annotations

import os
import smtplib
import socket
from dataclasses import dataclass
from email.message import EmailMessage

from engine.errors import ResilienceError

TIMEOUT_S = 10.0


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    sender: str
    starttls: bool = False

    def describe(self) -> str:
        return f"{self.host}:{self.port} from {self.sender}"


def smtp_config() -> SmtpConfig | None:
    """The configured relay, or None when ``RESILIENCE_SMTP_HOST`` is unset."""
    host = os.environ.get("RESILIENCE_SMTP_HOST", "").strip()
    if not host:
        return None
    raw_port = os.environ.get("RESILIENCE_SMTP_PORT", "25").strip() or "25"
    try:
        port = int(raw_port)
    except ValueError:
        raise ResilienceError(
            f"RESILIENCE_SMTP_PORT={raw_port!r} is not a port number; set it to the SMTP "
            "server's port, for example 25 or 587"
        ) from None
    if not 0 < port < 65536:
        raise ResilienceError(f"RESILIENCE_SMTP_PORT={port} is outside 1-65535")
    sender = os.environ.get("RESILIENCE_SMTP_FROM", "").strip() or (
        f"resilience@{socket.gethostname()}"
    )
    starttls = os.environ.get("RESILIENCE_SMTP_STARTTLS", "").strip() in ("1", "true", "yes")
    return SmtpConfig(host=host, port=port, sender=sender, starttls=starttls)


def send(config: SmtpConfig, to: str, subject: str, body: str) -> None:
    """Send one plain-text message; an OSError or smtplib error propagates to the caller."""
    msg = EmailMessage()
    msg["From"] = config.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg.set_content(body)
    with smtplib.SMTP(config.host, config.port, timeout=TIMEOUT_S) as smtp:
        if config.starttls:
            smtp.starttls()
        smtp.send_message(msg)
