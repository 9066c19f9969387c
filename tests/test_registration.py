"""The setup page: a state per visitor, a checked organisation, the App's owner compared."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from bot.github.registration import is_login, webhook_warning
from bot.service.server import STATE_COOKIE, STATE_LIFETIME, create_setup_app
from tests import fakegithub


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def setup(github, keys, tmp_path):
    """A setup server whose GitHub hands out codes c1, c2, c3 (the fake's App key inside)."""
    github.private_key = keys[0]
    github.manifest_codes.update({"c1", "c2", "c3"})
    clock = Clock()
    saved = tmp_path / "app-credentials.json"
    app = create_setup_app(github.url, "https://tg.example", saved, clock)
    return app, clock, saved


def browser(app) -> TestClient:
    """A browser on the server's https address (a Secure cookie is not sent over http)."""
    return TestClient(app, base_url="https://tg.example")


def owned_by(monkeypatch, login: str, kind: str) -> None:
    """Make the fake GitHub register Apps under `login` (a "User" or an "Organization")."""
    real = fakegithub.example

    def example(name: str):
        answer = real(name)
        if name == "apps.get-authenticated.200":
            answer["owner"].update(login=login, type=kind)
        return answer

    monkeypatch.setattr(fakegithub, "example", example)


def open_page(client: TestClient, organization: str = "") -> str:
    page = client.get("/", params={"organization": organization} if organization else {})
    assert page.status_code == 200
    return re.search(r"\?state=([\w.-]+)\"", page.text)[1]


def test_a_state_is_taken_back_only_from_the_browser_it_was_given_to(setup):
    app, _, saved = setup
    operator, outsider = browser(app), browser(app)
    state = open_page(operator)
    # An outsider who learnt the state, without the operator's cookie, or with one of their own.
    assert outsider.get("/setup/done", params={"code": "c1", "state": state}).status_code == 403
    open_page(outsider)
    refused = outsider.get("/setup/done", params={"code": "c1", "state": state})
    assert refused.status_code == 403 and not saved.exists()
    assert refused.text.count("\n") == 0 and "open the setup page again" in refused.text
    assert operator.get("/setup/done", params={"code": "c1", "state": "forged"}).status_code == 403

    done = operator.get("/setup/done", params={"code": "c1", "state": state})
    assert done.status_code == 200 and "(id 4242)" in done.text and saved.exists()


def test_a_state_works_once(setup):
    app, _, saved = setup
    client = browser(app)
    state = open_page(client)
    cookie = client.cookies[STATE_COOKIE]
    failed = client.get("/setup/done", params={"code": "not-a-code", "state": state})
    assert failed.status_code == 502
    client.cookies.set(STATE_COOKIE, cookie, path="/setup")  # as a replayed redirect would
    again = client.get("/setup/done", params={"code": "c1", "state": state})
    assert again.status_code == 403 and not saved.exists()


def test_a_state_expires(setup):
    app, clock, saved = setup
    client = browser(app)
    state = open_page(client)
    clock.now += STATE_LIFETIME + 1
    late = client.get("/setup/done", params={"code": "c1", "state": state})
    assert late.status_code == 403 and not saved.exists()


def test_the_state_cookie_is_http_only_same_site_and_secure_over_https(github, tmp_path):
    for public, secure in (("https://tg.example", True), ("http://tg.example", False)):
        client = TestClient(create_setup_app(github.url, public, tmp_path / "c.json"))
        header = client.get("/").headers["set-cookie"]
        attributes = {a.strip().split("=")[0].lower() for a in header.split(";")}
        assert {"httponly", "samesite", "path", "max-age"} <= attributes
        assert "SameSite=lax" in header or "samesite=lax" in header.lower()
        assert f"Max-Age={STATE_LIFETIME}" in header
        assert ("secure" in attributes) is secure


def test_no_number_of_page_views_pushes_a_visitors_state_out(setup):
    app, _, saved = setup
    operator, outsider = browser(app), browser(app)
    state = open_page(operator)
    for _ in range(300):  # nothing is kept per view: any number would do
        open_page(outsider)
    assert operator.get("/setup/done", params={"code": "c1", "state": state}).status_code == 200
    assert saved.exists()


def test_a_state_cannot_be_altered_to_ask_for_another_owner(setup):
    app, _, saved = setup
    client = browser(app)
    state = open_page(client, "acme")
    nonce, expiry, organisation, mac = state.split(".")
    for forged in (f"{nonce}.{expiry}.evil.{mac}", f"{nonce}.{int(expiry) + 9999}.acme.{mac}"):
        client.cookies.set(STATE_COOKIE, forged, path="/setup")
        refused = client.get("/setup/done", params={"code": "c1", "state": forged})
        assert refused.status_code == 403
    assert not saved.exists()


def test_behind_a_path_the_cookie_follows_the_public_address(github, tmp_path):
    public = "https://tg.example/trunkguard"
    app = create_setup_app(github.url, public, tmp_path / "c.json")
    header = TestClient(app, base_url="https://tg.example").get("/").headers["set-cookie"]
    assert "Path=/trunkguard/setup" in header
    opened_elsewhere = TestClient(app, base_url="http://127.0.0.1:8765").get("/").text
    assert "Open this page at" in opened_elsewhere and "https://tg.example/trunkguard/" in (
        opened_elsewhere
    )
    assert "Open this page at" not in TestClient(app, base_url="https://tg.example").get("/").text


@pytest.mark.parametrize(
    "organization",
    ["../../login/device%3Fx%3D", "../../login/device?x=", "-acme", "acme-", "a" * 40, "ac me",
     "acme\n", "acmé", "acme/x"],
)  # fmt: skip
def test_an_organisation_that_is_not_a_github_login_is_refused(setup, organization):
    page = browser(setup[0]).get("/", params={"organization": organization})
    assert page.status_code == 400 and page.text.count("\n") == 0
    assert not is_login(organization)


def test_the_organisation_is_part_of_the_form_target_url_encoded(setup, github):
    page = browser(setup[0]).get("/", params={"organization": "Acme-1"}).text
    assert f'action="{github.url}/organizations/Acme-1/settings/apps/new?state=' in page
    assert is_login("a" * 39) and is_login("a") and is_login("a-b-c")


def test_an_app_registered_under_another_owner_is_not_kept(setup, monkeypatch):
    app, _, saved = setup
    client = browser(app)
    owned_by(monkeypatch, "octocat", "User")
    state = open_page(client, "acme")
    refused = client.get("/setup/done", params={"code": "c1", "state": state})
    assert refused.status_code == 403 and not saved.exists()
    assert "under octocat, not the organisation acme" in refused.text
    assert refused.text.count("\n") == 0

    owned_by(monkeypatch, "acme", "Organization")
    state = open_page(client)  # no organisation asked for: the user's own account
    refused = client.get("/setup/done", params={"code": "c2", "state": state})
    assert refused.status_code == 403 and not saved.exists()

    state = open_page(client, "ACME")  # GitHub logins ignore case
    done = client.get("/setup/done", params={"code": "c3", "state": state})
    assert done.status_code == 200 and saved.exists()


def test_a_users_own_app_is_kept(setup, monkeypatch):
    app, _, saved = setup
    client = browser(app)
    owned_by(monkeypatch, "octocat", "User")
    state = open_page(client)
    assert client.get("/setup/done", params={"code": "c1", "state": state}).status_code == 200
    assert saved.exists()


def test_the_page_shows_the_webhook_address_and_warns_when_github_cannot_reach_it(github, tmp_path):
    saved = tmp_path / "c.json"
    public = TestClient(create_setup_app(github.url, "https://tg.example/tg", saved)).get("/")
    assert "<code>https://tg.example/tg/webhook</code>" in public.text
    assert "Warning" not in public.text
    local = TestClient(create_setup_app(github.url, "http://127.0.0.1:8765", saved)).get("/")
    assert "<code>http://127.0.0.1:8765/webhook</code>" in local.text
    assert "127.0.0.1 is a loopback address: GitHub.com cannot reach it" in local.text
    assert "TRUNKGUARD_PUBLIC_URL" in local.text
    guessed = TestClient(create_setup_app(github.url, None, saved)).get("/")  # from the request
    assert "<code>http://testserver/webhook</code>" in guessed.text
    assert "testserver is not a public host name" in guessed.text


@pytest.mark.parametrize(
    ("url", "warning"),
    [
        ("https://tg.example.org/webhook", None),
        ("https://140.82.112.3/webhook", None),
        ("http://tg.example.org/webhook", "it is plain http: GitHub would send every delivery "
                                          "unencrypted"),
        ("http://127.0.0.1:8765/webhook", "127.0.0.1 is a loopback address"),
        ("https://[::1]:8443/webhook", "::1 is a loopback address"),
        ("https://10.1.2.3/webhook", "10.1.2.3 is not a public address"),
        ("https://192.168.1.20/webhook", "192.168.1.20 is not a public address"),
        ("https://169.254.1.1/webhook", "169.254.1.1 is not a public address"),
        ("https://0.0.0.0/webhook", "0.0.0.0 is not a public address"),
        ("https://localhost:8000/webhook", "localhost is this machine"),
        ("https://tg.localhost/webhook", "tg.localhost is this machine"),
        ("https://buildbox/webhook", "buildbox is not a public host name"),
    ],
)  # fmt: skip
def test_webhook_addresses_github_cannot_reach_are_named(url, warning):
    said = webhook_warning(url)
    assert said == warning if warning is None or "http:" in warning else said.startswith(warning)


def test_the_manifest_asks_for_contents_write_only_with_the_resolve_button():
    from bot.github.registration import manifest_for, setup_page

    assert manifest_for(None)["default_permissions"]["contents"] == "read"
    wanted = manifest_for("https://tg.example.com", with_resolve=True)
    assert wanted["default_permissions"]["contents"] == "write"
    page = setup_page(wanted, "https://github.com", "state", "", resolve=True)
    assert 'name="resolve" value="1" checked' in page and "contents: write" in page
    plain = setup_page(manifest_for(None), "https://github.com", "state", "")
    assert "checked" not in plain and "contents: read" in plain
