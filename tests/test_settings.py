"""Start-up checks: every bad or missing setting named at once, one line each, no traceback."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from bot.cli.main import cli
from bot.github.app import GitHubApp, InvalidKey
from bot.github.registration import Credentials, save_credentials
from bot.service.settings import SettingsError, app_credentials, load_settings

KEY_MISSING = "TRUNKGUARD_PRIVATE_KEY_PATH: missing (or TRUNKGUARD_PRIVATE_KEY: the App's key)"
SECRET_MISSING = "TRUNKGUARD_WEBHOOK_SECRET: missing (the secret set on the GitHub App)"
ID_MISSING = "TRUNKGUARD_APP_ID: missing (the App's id, on its settings page)"
NOT_PEM = "not a PEM private key without a passphrase (GitHub's .pem file)"


def problems(environ: dict[str, str], **kwargs: bool) -> list[str]:
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, **kwargs)
    return str(caught.value).splitlines()


def ec_key() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()


def test_an_app_id_alone_names_both_the_missing_key_and_secret():
    assert problems({"TRUNKGUARD_APP_ID": "12"}) == [KEY_MISSING, SECRET_MISSING]
    assert problems({"TRUNKGUARD_WEBHOOK_SECRET": "s3cret"}) == [ID_MISSING, KEY_MISSING]


def test_every_problem_is_named_at_once(tmp_path):
    said = problems(
        {
            "TRUNKGUARD_APP_ID": "x",
            "TRUNKGUARD_PUBLIC_URL": "tg.example",
            "TRUNKGUARD_PRIVATE_KEY_PATH": str(tmp_path / "key.pem"),
        }
    )
    assert said == [
        "TRUNKGUARD_APP_ID: Input should be a valid integer, unable to parse string as an integer",
        "TRUNKGUARD_PUBLIC_URL: 'tg.example' is not an http(s)://host[:port][/path] URL",
        SECRET_MISSING,
        f"TRUNKGUARD_PRIVATE_KEY_PATH: no such file: {tmp_path / 'key.pem'}",
    ]


@pytest.mark.parametrize(
    "url",
    [
        "tg.example",
        "ftp://tg.example",
        "https://",
        "https:///webhook",
        "https://tg.example:99999",
        "https://tg.example:port",
        "https://tg.example/?x=1",
        "https://tg.example/#top",
        "https://tg example",
        "https://tg.example/a\nb",
        "https://[::1",
        "https://-tg.example",
        "",
    ],
)
def test_a_public_url_that_is_not_http_host_port_path_is_refused(url):
    [line] = problems({"TRUNKGUARD_PUBLIC_URL": url})
    assert line.startswith("TRUNKGUARD_PUBLIC_URL: ") and line.endswith(
        "is not an http(s)://host[:port][/path] URL"
    )


def test_a_public_url_with_credentials_is_refused_without_showing_them():
    [line] = problems({"TRUNKGUARD_PUBLIC_URL": "https://admin:hunter2@tg.example/"})
    assert "hunter2" not in line and "admin:***@tg.example" in line


@pytest.mark.parametrize(
    ("url", "kept"),
    [
        ("https://tg.example", "https://tg.example"),
        ("https://tg.example/trunkguard/", "https://tg.example/trunkguard"),
        ("http://127.0.0.1:8765", "http://127.0.0.1:8765"),
        ("https://[::1]:8443/tg", "https://[::1]:8443/tg"),
    ],
)
def test_a_public_url_of_host_port_and_path_is_taken(url, kept):
    assert load_settings({"TRUNKGUARD_PUBLIC_URL": url}).public_url == kept


@pytest.mark.parametrize(
    ("key", "reason"),
    [
        ("garbage", NOT_PEM),
        ("-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n", NOT_PEM),
        ("", NOT_PEM),
        (None, "not an RSA private key (GitHub Apps sign with RSA)"),
    ],
)
def test_a_private_key_that_cannot_sign_is_refused_at_start(key, reason):
    environ = {
        "TRUNKGUARD_APP_ID": "12",
        "TRUNKGUARD_WEBHOOK_SECRET": "s3cret",
        "TRUNKGUARD_PRIVATE_KEY": ec_key() if key is None else key,
    }
    assert problems(environ) == [f"TRUNKGUARD_PRIVATE_KEY: {reason}"]


def test_a_key_file_that_is_not_a_key_or_not_a_file_is_refused(tmp_path, keys):
    environ = {"TRUNKGUARD_APP_ID": "12", "TRUNKGUARD_WEBHOOK_SECRET": "s3cret"}
    key = tmp_path / "key.pem"
    key.write_bytes(b"\xff\xfe not even text")
    path = {"TRUNKGUARD_PRIVATE_KEY_PATH": str(key)}
    assert problems({**environ, **path}) == [f"TRUNKGUARD_PRIVATE_KEY_PATH: {key}: {NOT_PEM}"]
    folder = {"TRUNKGUARD_PRIVATE_KEY_PATH": str(tmp_path)}
    assert problems({**environ, **folder}) == [
        f"TRUNKGUARD_PRIVATE_KEY_PATH: not a file: {tmp_path}"
    ]
    key.write_text(keys[0])
    settings = load_settings({**environ, **path})
    assert settings.private_key_text() == keys[0]
    assert "s3cret" not in repr(settings) and "PRIVATE KEY" not in repr(settings)


def test_an_unreadable_key_file_is_refused(tmp_path, keys, monkeypatch):
    key = tmp_path / "key.pem"
    key.write_text(keys[0])
    key.chmod(0)
    if os.geteuid() == 0:  # root reads any file: refuse as the kernel would refuse others

        def refused(self: Path, *args: object, **kwargs: object) -> str:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(self))

        monkeypatch.setattr(Path, "read_text", refused)
    environ = {
        "TRUNKGUARD_APP_ID": "12",
        "TRUNKGUARD_WEBHOOK_SECRET": "s3cret",
        "TRUNKGUARD_PRIVATE_KEY_PATH": str(key),
    }
    assert problems(environ) == [
        f"TRUNKGUARD_PRIVATE_KEY_PATH: cannot read {key}: Permission denied"
    ]


def test_a_setup_page_key_that_cannot_sign_is_refused(tmp_path):
    saved = tmp_path / "app-credentials.json"
    save_credentials(saved, Credentials(7, "tg", "garbage", "secret", "https://x/apps/tg"))
    settings = load_settings({"TRUNKGUARD_CREDENTIALS_FILE": str(saved)})
    with pytest.raises(SettingsError) as caught:
        app_credentials(settings)
    assert str(caught.value) == f"{saved}: the App's private key: {NOT_PEM}"


def test_the_app_refuses_a_key_that_cannot_sign():
    with pytest.raises(InvalidKey) as caught:
        GitHubApp(1, "garbage", "http://127.0.0.1:9")
    assert str(caught.value) == f"the App's private key: {NOT_PEM}"


def run(*args: str, **environ: str):
    # Every TRUNKGUARD_ variable of this process is left out: the test's own are the only ones.
    unset = {name: None for name in os.environ if name.startswith("TRUNKGUARD_")}
    return CliRunner(env={**unset, **environ}).invoke(cli, list(args))


def test_serve_names_every_problem_and_exits_without_a_traceback(tmp_path):
    result = run(
        "serve",
        TRUNKGUARD_APP_ID="12",
        TRUNKGUARD_PRIVATE_KEY="garbage",
        TRUNKGUARD_PUBLIC_URL="not a url",
        TRUNKGUARD_DATABASE_URL=f"sqlite:///{tmp_path / 'store.db'}",
    )
    assert result.exit_code == 1
    assert result.output.splitlines() == [
        "Error: TRUNKGUARD_PUBLIC_URL: 'not a url' is not an http(s)://host[:port][/path] URL",
        SECRET_MISSING,
        f"TRUNKGUARD_PRIVATE_KEY: {NOT_PEM}",
    ]
    assert not (tmp_path / "store.db").exists()  # refused before anything was opened


def test_worker_and_scheduler_name_every_problem(tmp_path):
    nowhere = str(tmp_path / "app-credentials.json")
    result = run("worker", TRUNKGUARD_CREDENTIALS_FILE=nowhere)
    assert result.exit_code == 1 and "Traceback" not in result.output
    lines = result.output.removeprefix("Error: ").splitlines()
    assert [line.split(":")[0] for line in lines] == [
        "TRUNKGUARD_BROKER_URL is not set",
        "no GitHub App credentials",
    ]
    result = run("scheduler", TRUNKGUARD_APP_ID="12", TRUNKGUARD_CREDENTIALS_FILE=nowhere)
    assert result.exit_code == 1
    assert result.output.splitlines() == [f"Error: {KEY_MISSING}", SECRET_MISSING]


def test_serve_without_an_app_warns_when_github_cannot_reach_the_webhook(tmp_path, monkeypatch):
    from bot.service import limits

    served = []  # the setup server is not started: its address is all this test needs
    monkeypatch.setattr(limits, "run", lambda app, host, port, *rest: served.append((host, port)))
    nowhere = str(tmp_path / "app-credentials.json")
    result = run("serve", "--port", "8765", TRUNKGUARD_CREDENTIALS_FILE=nowhere)
    assert result.exit_code == 0 and served == [("127.0.0.1", 8765)]
    assert (
        "trunkguard: warning: the webhook address http://127.0.0.1:8765/webhook: 127.0.0.1 is "
        "a loopback address: GitHub.com cannot reach it (set TRUNKGUARD_PUBLIC_URL)"
    ) in result.output.splitlines()
    public = run(
        "serve", TRUNKGUARD_CREDENTIALS_FILE=nowhere, TRUNKGUARD_PUBLIC_URL="https://tg.example"
    )
    assert public.exit_code == 0 and "warning" not in public.output
