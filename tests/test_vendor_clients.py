"""The vendor client layer against a real HTTP server on loopback."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Response

from opsctl.errors import UsageError
from opsctl.vendors.config import VendorConfig, check_base_url, redact
from opsctl.vendors.pagerduty_api import events_client, rest_client
from opsctl.vendors.retry import retry_after_seconds


def config(server: HTTPServer) -> VendorConfig:
    return VendorConfig.from_env(
        {
            "PAGERDUTY_TOKEN": "pd-secret-token",
            "OPSCTL_PAGERDUTY_API_URL": server.url_for("").rstrip("/"),
            "OPSCTL_PAGERDUTY_EVENTS_URL": server.url_for("").rstrip("/"),
        }
    )


@pytest.mark.parametrize(
    ("url", "ok"),
    [
        ("https://api.pagerduty.com", True),
        ("http://127.0.0.1:8080", True),
        ("http://[::1]:80", True),
        ("http://localhost:1", True),
        ("http://10.0.0.5", False),
        ("http://api.pagerduty.com", False),
        ("ftp://127.0.0.1", False),
    ],
)
def test_plain_http_only_on_loopback(url: str, ok: bool) -> None:
    if ok:
        assert check_base_url("X", url) == url
    else:
        with pytest.raises(UsageError, match="only for loopback"):
            check_base_url("X", url)


def test_retry_after_is_honoured_and_bounded(httpserver: HTTPServer) -> None:
    calls = []
    httpserver.expect_request("/users").respond_with_handler(
        lambda request: (
            calls.append(1)
            or (
                Response("{}", status=429, headers={"Retry-After": "7"})
                if len(calls) < 3
                else Response('{"users": []}', content_type="application/json")
            )
        )
    )
    client = rest_client(config(httpserver))
    slept: list[float] = []
    client.sleep = slept.append
    response = client.get("/users")
    assert response.status_code == 200
    assert slept == [7.0, 7.0]
    assert len(calls) == 3


def test_gives_up_after_max_attempts(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/users").respond_with_data("{}", status=429)
    client = rest_client(config(httpserver), max_attempts=3)
    slept: list[float] = []
    client.sleep = slept.append
    assert client.get("/users").status_code == 429
    assert len(slept) == 2


def test_events_client_returns_the_first_429(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v2/enqueue", method="POST").respond_with_data("{}", status=429, headers={"Retry-After": "3"})
    client = events_client("routing-key", config(httpserver))
    client.sleep = lambda seconds: pytest.fail("must not sleep")
    response = client.post("/v2/enqueue", json={"event_action": "trigger"})
    assert response.status_code == 429


def test_tokens_are_never_shown() -> None:
    cfg = VendorConfig.from_env({"PAGERDUTY_TOKEN": "pd-secret", "SLACK_BOT_TOKEN": "xoxb-secret"})
    assert "secret" not in repr(cfg)
    assert cfg.redact("error with pd-secret and xoxb-secret") == "error with [redacted] and [redacted]"
    assert redact("nothing", []) == "nothing"


def test_missing_token_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="PAGERDUTY_TOKEN is not set"):
        rest_client(VendorConfig())


def test_retry_after_parsing() -> None:
    assert retry_after_seconds("12", 1.0) == 12.0
    assert retry_after_seconds(None, 1.5) == 1.5
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT", 2.0) == 2.0


def test_without_retry_after_a_429_waits_for_ratelimit_reset(httpserver: HTTPServer) -> None:
    """PagerDuty's REST answers say when the window resets (`ratelimit-reset`), not `Retry-After`."""
    calls = []
    limited = {"ratelimit-limit": "960", "ratelimit-remaining": "0", "ratelimit-reset": "37"}
    httpserver.expect_request("/users").respond_with_handler(
        lambda request: (
            calls.append(1)
            or (
                Response("{}", status=429, headers=limited)
                if len(calls) < 2
                else Response('{"users": []}', content_type="application/json")
            )
        )
    )
    client = rest_client(config(httpserver))
    slept: list[float] = []
    client.sleep = slept.append
    assert client.get("/users").status_code == 200
    assert slept == [37.0]


@pytest.mark.parametrize("bypass", [True, False])
def test_both_clients_honour_https_proxy_and_no_proxy(
    httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch, bypass: bool
) -> None:
    """A proxy that does not answer: with NO_PROXY naming the host both clients go direct,
    without it both try the proxy (slack_sdk alone would ignore NO_PROXY)."""
    from slack_sdk.errors import SlackClientError

    from opsctl.vendors.errors import VendorError, translated
    from opsctl.vendors.slack_api import slack_client

    httpserver.expect_request("/users").respond_with_json({"users": []})
    httpserver.expect_request("/api/auth.test").respond_with_json({"ok": True, "team": "T"})
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")  # nothing listens there
    if bypass:
        monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
        monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    else:
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
    pd = rest_client(config(httpserver), max_attempts=1)
    slack = slack_client(VendorConfig(slack_token="xoxb-t", slack_api_url=httpserver.url_for("/api/")), rate_limit_retries=0)
    slack.retry_handlers = []
    if bypass:
        assert pd.get("/users").status_code == 200
        assert slack.auth_test()["team"] == "T"
        return
    with pytest.raises(VendorError, match="cannot reach PagerDuty"), translated():
        pd.get("/users")
    with pytest.raises((VendorError, SlackClientError, OSError)), translated():
        slack.auth_test()


def _private_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A private CA and a certificate it signed for 127.0.0.1, made with the openssl command."""
    import subprocess

    ca_key, ca, key, csr, cert = (folder / name for name in ("ca.key", "ca.pem", "server.key", "server.csr", "server.pem"))
    run_openssl = lambda *args: subprocess.run(["openssl", *args], check=True, capture_output=True)  # noqa: E731
    run_openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        str(ca_key),
        "-out",
        str(ca),
        "-days",
        "2",
        "-subj",
        "/CN=opsctl test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=keyCertSign",
    )
    run_openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    extensions = folder / "san.cnf"
    extensions.write_text("subjectAltName=IP:127.0.0.1\n")
    run_openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(extensions),
    )
    return ca, cert, key


@pytest.mark.skipif(shutil.which("openssl") is None, reason="needs the openssl command to make a private CA")
def test_both_clients_trust_a_private_ca_named_by_ssl_cert_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import ssl

    from opsctl.vendors.errors import VendorError, translated
    from opsctl.vendors.slack_api import slack_client

    ca, cert, key = _private_ca(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    server = HTTPServer(host="127.0.0.1", port=0, ssl_context=context)
    server.expect_request("/users").respond_with_json({"users": []})
    server.expect_request("/api/auth.test").respond_with_json({"ok": True, "team": "T"})
    server.start()
    try:
        base = f"https://127.0.0.1:{server.port}"
        for name in ("SSL_CERT_DIR", "HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            monkeypatch.delenv(name, raising=False)

        def clients() -> tuple[Any, Any]:
            pd = rest_client(VendorConfig(pagerduty_token="t", pagerduty_api_url=base), max_attempts=1)
            web = slack_client(VendorConfig(slack_token="xoxb-t", slack_api_url=base + "/api/"), rate_limit_retries=0)
            web.retry_handlers = []
            return pd, web

        monkeypatch.delenv("SSL_CERT_FILE", raising=False)
        pd, web = clients()
        with pytest.raises(VendorError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"), translated():
            pd.get("/users")
        with pytest.raises(VendorError, match=r"CERTIFICATE_VERIFY_FAILED|certificate verify failed"), translated():
            web.auth_test()
        monkeypatch.setenv("SSL_CERT_FILE", str(ca))
        pd, web = clients()
        assert pd.get("/users").status_code == 200
        assert web.auth_test()["team"] == "T"
    finally:
        server.stop()
