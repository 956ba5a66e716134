"""The local receivers: the Telegram Bot API's sendMessage contract and the email record."""

from __future__ import annotations

from email.message import EmailMessage
from pathlib import Path

from spyops.monitoring.receivers import Recorder, email_record, parse_send_message, read_records


def test_send_message_answers_like_the_bot_api() -> None:
    body = {"chat_id": "42", "text": "<b>hi</b>", "parse_mode": "HTML", "disable_web_page_preview": "true"}
    status, reply, record = parse_send_message("1:abc", "1:abc", body)
    assert status == 200
    assert reply["ok"] is True
    assert reply["result"]["chat"]["id"] == 42
    assert record == {
        "receiver": "telegram",
        "chat_id": "42",
        "text": "<b>hi</b>",
        "parse_mode": "HTML",
        "disable_web_page_preview": "true",
    }


def test_send_message_refuses_a_wrong_token_and_bad_bodies() -> None:
    assert parse_send_message("1:bad", "1:abc", {"chat_id": "1", "text": "x"})[:2] == (
        401,
        {"ok": False, "error_code": 401, "description": "Unauthorized"},
    )
    bodies: list[object] = [None, [], {"chat_id": "1"}, {"text": "x"}, {"chat_id": "1", "text": " "}]
    for body in bodies:
        status, reply, record = parse_send_message("t", "t", body)
        assert (status, reply["error_code"], record) == (400, 400, None)
    assert parse_send_message("t", "t", {"chat_id": "1", "text": "x" * 4097})[0] == 400


def test_email_record_keeps_subject_recipients_and_parts(tmp_path: Path) -> None:
    message = EmailMessage()
    message["Subject"] = "[FIRING:1] SpyopsVpnLinkDown vpnlink=azure-edge"
    message.set_content("plain body")
    message.add_alternative("<p>html body</p>", subtype="html")
    record = email_record("am@x", ["oncall@x"], message.as_bytes())
    assert record["subject"] == "[FIRING:1] SpyopsVpnLinkDown vpnlink=azure-edge"
    assert record["text"].strip() == "plain body"
    assert record["html"].strip() == "<p>html body</p>"
    recorder = Recorder(tmp_path / "n.jsonl")
    recorder.add(record)
    assert read_records(tmp_path / "n.jsonl")[0]["rcpt_tos"] == ["oncall@x"]
