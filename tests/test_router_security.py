"""Who may post, and what is refused: tokens, signatures, replays, sizes, shapes.

Every refusal is a 4xx with a JSON body that says what is wrong, and neither the answer
nor the server's log holds a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from opsctl.repo.loader import load_working_tree
from opsctl.router.security import Credentials
from tests.fakes.specs import SPECS
from tests.router_support import (
    DBT_SECRET,
    GRAFANA_SECRET,
    Answer,
    Router,
    assert_no_tracebacks_logged,
    request,
    running_router,
    signed_headers,
    token_for,
)
from tests.support import REPO_ROOT

AIRFLOW = json.dumps({"dag_id": "aggregate_growth_investors", "task_id": "t", "run_id": "r"}).encode()
DBT = (SPECS / "inbound" / "dbt-cloud-job-run-errored.json").read_bytes()
ALERTMANAGER = (SPECS / "inbound" / "alertmanager-v4.json").read_bytes()


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    org = load_working_tree(REPO_ROOT).require_ok()
    with running_router(tmp_path_factory.mktemp("security"), org, worker=False, max_body_bytes=64 * 1024) as live:
        yield live


@pytest.fixture(autouse=True)
def _no_tracebacks_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.DEBUG)
    yield
    assert_no_tracebacks_logged(caplog)


def post(router: Router, source: str, body: bytes, headers: dict[str, str]) -> Answer:
    answer = request(f"{router.url}/v1/alerts/{source}", "POST", body, headers)
    assert b"Traceback" not in answer.body and b'File "' not in answer.body
    return answer


def refusal(answer: Answer) -> tuple[int, str, str]:
    body = answer.json()
    assert body["status"] == answer.status
    return answer.status, body["error"], body["message"]


JSON = {"Content-Type": "application/json"}


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing Authorization header: send `Authorization: Bearer <token>`"),
        ({"Authorization": "Bearer nope"}, "wrong token for source 'airflow'"),
        ({"Authorization": f"Bearer {token_for('generic')}"}, "wrong token for source 'airflow'"),
        (
            {"Authorization": f"Token {token_for('airflow')}"},
            "the Authorization header must be `Bearer <token>` (or Basic with the token as password)",
        ),
        ({"Authorization": "Basic !!!"}, "the Basic credentials are not valid base64"),
        ({"Authorization": "Bearer ünïcode"}, "wrong token for source 'airflow'"),
    ],
)
def test_bad_tokens_are_refused(router: Router, headers: dict[str, str], message: str) -> None:
    assert refusal(post(router, "airflow", AIRFLOW, JSON | headers)) == (401, "unauthorized", message)


def test_a_good_token_in_basic_auth_is_accepted(router: Router) -> None:
    import base64

    basic = base64.b64encode(f"alertmanager:{token_for('alertmanager')}".encode()).decode()
    assert post(router, "alertmanager", ALERTMANAGER, JSON | {"Authorization": f"Basic {basic}"}).status == 202


def test_a_source_without_a_token_accepts_nothing(tmp_path: Path) -> None:
    org = load_working_tree(REPO_ROOT).require_ok()
    with running_router(tmp_path, org, worker=False, creds=Credentials()) as router:
        answer = post(router, "generic", b'{"summary": "x"}', JSON | {"Authorization": "Bearer anything"})
        assert refusal(answer) == (
            401,
            "not-configured",
            "source 'generic' is not enabled: set OPSCTL_WEBHOOK_TOKEN_GENERIC (or OPSCTL_WEBHOOK_TOKEN) on the server",
        )
        answer = post(router, "dbt-cloud", DBT, JSON | {"Authorization": "0" * 64})
        assert refusal(answer)[1] == "not-configured"


def dbt_signature(body: bytes, secret: str = DBT_SECRET) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_dbt_cloud_signatures(router: Router) -> None:
    assert post(router, "dbt-cloud", DBT, JSON | {"Authorization": dbt_signature(DBT)}).status == 202
    assert post(router, "dbt-cloud", DBT, JSON | {"Authorization": dbt_signature(DBT).upper()}).status == 202
    bad = "bad signature: Authorization is not the HMAC-SHA256 of the body with the webhook secret"
    tampered = DBT.replace(b'"123"', b'"124"')
    assert refusal(post(router, "dbt-cloud", tampered, JSON | {"Authorization": dbt_signature(DBT)})) == (
        401,
        "unauthorized",
        bad,
    )
    assert refusal(post(router, "dbt-cloud", DBT, JSON | {"Authorization": dbt_signature(DBT, "other")}))[2] == bad
    assert refusal(post(router, "dbt-cloud", DBT, JSON | {"Authorization": f"Bearer {token_for('generic')}"}))[2] == bad
    missing = "missing Authorization header: dbt Cloud sends the HMAC-SHA256 of the body there"
    assert refusal(post(router, "dbt-cloud", DBT, JSON))[2] == missing


def grafana_headers(body: bytes, stamp: str, *, secret: str = GRAFANA_SECRET, signed: bytes | None = None) -> dict[str, str]:
    message = signed if signed is not None else stamp.encode() + b":" + body
    return JSON | {
        "X-Grafana-Alerting-Signature": hmac.new(secret.encode(), message, hashlib.sha256).hexdigest(),
        "X-Grafana-Alerting-Timestamp": stamp,
        "Authorization": f"Bearer {token_for('grafana')}",
    }


def test_grafana_signatures_and_replay_window(router: Router) -> None:
    body = ALERTMANAGER.replace(b'"version":"4"', b'"version":"1","orgId":1')
    now = str(int(time.time()))
    assert post(router, "grafana", body, grafana_headers(body, now)).status == 202
    # Grafana's own default header name works as well
    headers = grafana_headers(body, now)
    headers["X-Grafana-Alert-Signature"] = headers.pop("X-Grafana-Alerting-Signature")
    assert post(router, "grafana", body, headers).status == 202
    old = str(int(time.time()) - 3600)
    assert refusal(post(router, "grafana", body, grafana_headers(body, old))) == (
        401,
        "unauthorized",
        "X-Grafana-Alerting-Timestamp is 3600 s away from the server's clock (the window is 300 s): "
        "a replayed request, or a clock that is off",
    )
    future = str(int(time.time()) + 3600)
    assert refusal(post(router, "grafana", body, grafana_headers(body, future)))[2].startswith(
        ("X-Grafana-Alerting-Timestamp is 3599 s away", "X-Grafana-Alerting-Timestamp is 3600 s away")
    )
    # a captured signature with a fresh timestamp does not verify: the timestamp is signed
    replayed = grafana_headers(body, old)
    replayed["X-Grafana-Alerting-Timestamp"] = now
    bad = "bad signature: X-Grafana-Alerting-Signature is not the HMAC-SHA256 of `<timestamp>:<body>`"
    assert refusal(post(router, "grafana", body, replayed))[2] == bad
    assert refusal(post(router, "grafana", body, grafana_headers(body, now, signed=body)))[2] == bad
    assert refusal(post(router, "grafana", body, grafana_headers(body, now, secret="other")))[2] == bad
    no_stamp = grafana_headers(body, now)
    del no_stamp["X-Grafana-Alerting-Timestamp"]
    assert refusal(post(router, "grafana", body, no_stamp))[2].startswith("missing X-Grafana-Alerting-Timestamp")
    garbled = grafana_headers(body, now)
    garbled["X-Grafana-Alerting-Timestamp"] = "yesterday"
    assert refusal(post(router, "grafana", body, garbled))[2] == "X-Grafana-Alerting-Timestamp must be Unix seconds"
    unsigned = JSON | {"Authorization": f"Bearer {token_for('grafana')}"}
    assert refusal(post(router, "grafana", body, unsigned))[2].startswith("missing X-Grafana-Alerting-Signature")


def test_oversized_bodies_are_refused_before_they_are_read(router: Router) -> None:
    big = b'{"summary": "' + b"x" * (70 * 1024) + b'"}'
    answer = post(router, "generic", big, signed_headers("generic", big))
    assert refusal(answer) == (413, "too-large", f"the body is {len(big)} bytes; the limit is 65536 (OPSCTL_ROUTER_MAX_BODY)")
    # without a Content-Length (chunked), the server stops reading at the cap
    conn = http.client.HTTPConnection("127.0.0.1", router.server.port, timeout=30)
    try:
        conn.request(
            "POST",
            "/v1/alerts/generic",
            body=iter([big[i : i + 4096] for i in range(0, len(big), 4096)]),
            headers=signed_headers("generic", big),
            encode_chunked=True,
        )
        response = conn.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["message"] == "the body is over the limit of 65536 bytes (OPSCTL_ROUTER_MAX_BODY)"
    finally:
        conn.close()


@pytest.mark.parametrize(
    ("source", "body", "status", "code", "message"),
    [
        ("airflow", b"", 400, "malformed-json", "the body is empty: send the alert as JSON"),
        (
            "airflow",
            b"{not json",
            400,
            "malformed-json",
            "the body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2",
        ),
        ("airflow", b"\xff\xfe{}", 400, "malformed-json", "the body is not UTF-8 (byte 0)"),
        ("airflow", b"[" * 60_000, 400, "malformed-json", "the body is nested too deeply"),
        ("airflow", b"[]", 422, "invalid-payload", "the body must be a JSON object, not an array"),
        ("airflow", b"{}", 422, "invalid-payload", "dag_id is required"),
        ("airflow", b'{"dag_id": 5}', 422, "invalid-payload", "dag_id must be a string, not a number"),
        (
            "airflow",
            b'{"dag_id": "x", "state": "exploded"}',
            422,
            "invalid-payload",
            "state must be one of failed, success, up_for_retry, up_for_reschedule, skipped, running, queued, not 'exploded'",
        ),
        (
            "airflow",
            b'{"dag_id": "x", "try_number": "two"}',
            422,
            "invalid-payload",
            "try_number must be an integer, not a string",
        ),
        ("alertmanager", b'{"alerts": {}}', 422, "invalid-payload", "alerts must be an array, not an object"),
        (
            "alertmanager",
            b'{"version": "3", "alerts": []}',
            422,
            "invalid-payload",
            "version must be \"4\" (the Alertmanager webhook format opsctl reads), not '3'",
        ),
        ("alertmanager", b'{"alerts": [{"status": "firing"}]}', 422, "invalid-payload", "alerts[0].labels is required"),
        (
            "alertmanager",
            b'{"alerts": [{"status": "firing", "labels": {"a": 1}}]}',
            422,
            "invalid-payload",
            "alerts[0].labels.a must be a string, not a number",
        ),
        (
            "alertmanager",
            b'{"alerts": [{"labels": {}}]}',
            422,
            "invalid-payload",
            "alerts[0].status is required (firing or resolved)",
        ),
        ("great-expectations", b'{"suite": "s"}', 422, "invalid-payload", "success is required and must be true or false"),
        (
            "great-expectations",
            b'{"suite": "s", "success": false, "failed_expectations": [{}]}',
            422,
            "invalid-payload",
            "failed_expectations[0].type is required",
        ),
        ("generic", b'{"summary": "x", "links": [{"text": "t"}]}', 422, "invalid-payload", "links[0].href is required"),
        (
            "generic",
            b'{"summary": "x", "status": "open"}',
            422,
            "invalid-payload",
            "status must be one of firing, resolved, ok, not 'open'",
        ),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(router: Router, source: str, body: bytes, status: int, code: str, message: str) -> None:
    answer = post(router, source, body, signed_headers(source, body))
    assert refusal(answer) == (status, code, message)


def test_dbt_cloud_shape_errors(router: Router) -> None:
    body = b'{"eventId": "e", "eventType": "job.run.exploded", "data": {"jobId": 1}}'
    answer = post(router, "dbt-cloud", body, JSON | {"Authorization": dbt_signature(body)})
    assert refusal(answer) == (
        422,
        "invalid-payload",
        "eventType must be one of job.run.started, job.run.completed, job.run.errored, not 'job.run.exploded'",
    )


def test_wrong_content_type_unknown_source_and_method(router: Router) -> None:
    headers = signed_headers("airflow", AIRFLOW) | {"Content-Type": "application/x-www-form-urlencoded"}
    assert refusal(post(router, "airflow", AIRFLOW, headers)) == (
        415,
        "unsupported-media-type",
        "Content-Type application/x-www-form-urlencoded is not JSON: send the alert as application/json",
    )
    assert refusal(post(router, "airflw", AIRFLOW, signed_headers("airflow", AIRFLOW))) == (
        404,
        "unknown-source",
        "unknown source 'airflw' (did you mean 'airflow'?); sources: alertmanager, grafana, dbt-cloud, airflow, "
        "great-expectations, generic",
    )
    got = request(f"{router.url}/v1/alerts/airflow")
    assert refusal(got) == (405, "method-not-allowed", "GET is not allowed here")
    bad_length = request(f"{router.url}/v1/alerts/airflow", "POST", b"", {"Content-Length": "abc"})
    assert bad_length.status == 400


def test_secrets_never_appear_in_answers_or_reprs(router: Router) -> None:
    answer = post(router, "airflow", AIRFLOW, JSON | {"Authorization": "Bearer nope"})
    assert token_for("airflow") not in answer.text
    assert DBT_SECRET not in repr(router.settings) and GRAFANA_SECRET not in repr(router.settings)
    assert token_for("airflow") not in repr(router.settings)
