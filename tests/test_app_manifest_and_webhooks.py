"""The GitHub App manifest, and the signature check every webhook delivery must pass."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.github.webhooks import signature, verify_signature

VECTOR = json.loads(
    (Path(__file__).parent / "fixtures/github/webhooks/signature-test-vector.json").read_text()
)


def test_githubs_published_test_vector():
    secret, body = VECTOR["secret"].encode(), VECTOR["payload"].encode()
    assert signature(secret, body) == VECTOR["X-Hub-Signature-256"]
    assert verify_signature(secret, body, VECTOR["X-Hub-Signature-256"])


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "sha1=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
        "sha256=" + "0" * 64,
        "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e1",
        "757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17",
    ],
)
def test_missing_or_wrong_signatures_are_refused(header):
    assert not verify_signature(VECTOR["secret"].encode(), VECTOR["payload"].encode(), header)


def test_a_body_changed_by_one_byte_is_refused():
    header = VECTOR["X-Hub-Signature-256"]
    assert not verify_signature(VECTOR["secret"].encode(), b"Hello, World?", header)
    assert not verify_signature(b"another secret", VECTOR["payload"].encode(), header)


def test_the_manifest_asks_for_least_privilege():
    result = CliRunner().invoke(cli, ["app", "manifest", "--url", "https://tg.example.org/"])
    assert result.exit_code == 0, result.output
    manifest = json.loads(result.output)
    assert manifest["default_permissions"] == {
        "checks": "write",
        "pull_requests": "write",
        "issues": "write",
        "contents": "read",
        "metadata": "read",
    }
    assert manifest["default_events"] == ["pull_request", "push", "check_suite", "check_run"]
    assert manifest["hook_attributes"] == {"url": "https://tg.example.org/webhook", "active": True}
    assert (manifest["url"], manifest["redirect_url"]) == (
        "https://tg.example.org",
        "https://tg.example.org/setup/done",
    )
    assert manifest["public"] is False


def test_the_manifest_url_must_be_http():
    result = CliRunner().invoke(cli, ["app", "manifest", "--url", "ftp://tg.example.org"])
    assert result.exit_code == 2
    assert "is not an http(s) URL" in result.output
