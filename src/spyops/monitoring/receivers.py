"""Local stand-ins for Alertmanager's receivers: an SMTP server (aiosmtpd) and the Telegram Bot API.

The Telegram stand-in answers ``POST /bot<token>/sendMessage`` the way api.telegram.org does: a JSON
body of strings (chat_id, text, parse_mode, ...), ``{"ok": true, "result": <Message>}`` on success and
``{"ok": false, "error_code": 401}`` for a wrong token, so Alertmanager's real client code runs.
Every message received is appended to a JSON-lines file (one object per notification) for the demo
to print and the tests to read.
"""

from __future__ import annotations

import asyncio
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.parser import BytesParser
from pathlib import Path
from typing import Any

from aiohttp import web

Record = dict[str, Any]


class Recorder:
    """Appends each notification as one JSON line (flushed at once) and hands it to ``on_record``."""

    def __init__(self, path: Path, on_record: Callable[[Record], None] | None = None) -> None:
        self.path = path
        self.on_record = on_record
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch()

    def add(self, record: Record) -> None:
        record = {"received_at": time.time(), **record}
        with self._lock, self.path.open("a") as sink:
            sink.write(json.dumps(record, sort_keys=True) + "\n")
        if self.on_record is not None:
            self.on_record(record)


def read_records(path: Path) -> list[Record]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def parse_send_message(token: str, expected_token: str, body: Any) -> tuple[int, Record, Record | None]:
    """(HTTP status, reply, record or None) for one sendMessage call; pure, so it is tested alone."""
    if token != expected_token:
        return 401, {"ok": False, "error_code": 401, "description": "Unauthorized"}, None
    if not isinstance(body, dict) or not str(body.get("text", "")).strip() or "chat_id" not in body:
        return (
            400,
            {"ok": False, "error_code": 400, "description": "Bad Request: chat_id and text are required"},
            None,
        )
    text = str(body["text"])
    if len(text) > 4096:
        return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}, None
    record = {
        "receiver": "telegram",
        "chat_id": str(body["chat_id"]),
        "text": text,
        "parse_mode": str(body.get("parse_mode", "")),
        "disable_web_page_preview": str(body.get("disable_web_page_preview", "")),
    }
    reply = {
        "ok": True,
        "result": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": int(record["chat_id"]), "type": "group"},
            "text": text,
        },
    }
    return 200, reply, record


def telegram_app(expected_token: str, recorder: Recorder) -> web.Application:
    async def send_message(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        try:
            body = await request.json()
        except json.JSONDecodeError:
            body = None
        status, reply, record = parse_send_message(token, expected_token, body)
        if record is not None:
            recorder.add(record)
        return web.json_response(reply, status=status)

    async def ready(_: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_post("/bot{token}/sendMessage", send_message)
    app.router.add_get("/ready", ready)
    return app


def email_record(mail_from: str, rcpt_tos: list[str], data: bytes) -> Record:
    message = BytesParser(policy=email.policy.default).parsebytes(data)
    parts = [message] if not message.is_multipart() else list(message.walk())
    texts = {
        part.get_content_type(): str(part.get_content())
        for part in parts
        if part.get_content_type() in ("text/plain", "text/html")
    }
    return {
        "receiver": "email",
        "mail_from": mail_from,
        "rcpt_tos": rcpt_tos,
        "subject": str(message.get("Subject", "")),
        "text": texts.get("text/plain", ""),
        "html": texts.get("text/html", ""),
    }


class _SmtpHandler:
    def __init__(self, recorder: Recorder) -> None:
        self.recorder = recorder

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 - aiosmtpd's hook name
        content = envelope.original_content or envelope.content
        self.recorder.add(email_record(envelope.mail_from, list(envelope.rcpt_tos), bytes(content)))
        return "250 Message accepted for delivery"


@dataclass
class Receivers:
    """Both stand-ins on loopback; ``start`` returns once both accept connections."""

    smtp_port: int
    telegram_port: int
    telegram_token: str
    recorder: Recorder
    host: str = "127.0.0.1"

    async def start(self) -> None:
        from aiosmtpd.controller import Controller

        self._smtp = Controller(_SmtpHandler(self.recorder), hostname=self.host, port=self.smtp_port)
        self._smtp.start()  # its own thread and loop; returns when it answers
        self._runner = web.AppRunner(telegram_app(self.telegram_token, self.recorder), access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self.host, self.telegram_port).start()

    async def stop(self) -> None:
        await self._runner.cleanup()
        self._smtp.stop()


async def serve_until_stopped(receivers: Receivers, stop: asyncio.Event) -> None:
    await receivers.start()
    try:
        await stop.wait()
    finally:
        await receivers.stop()
