"""Property-based fuzzing of the router's HTTP API, against a live server.

- schemathesis generates requests from the router's own OpenAPI document (valid and
  invalid ones) and checks every answer against it: no 5xx, only documented statuses and
  content types, bodies of the documented shape; schema-valid alerts are accepted, and
  schema-invalid ones refused.
- hypothesis throws arbitrary JSON and arbitrary bytes at every source, authenticated:
  the answer is always a documented status with a JSON error naming the problem, never a
  traceback.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import checks

from opsctl.repo.loader import load_working_tree
from opsctl.router.openapi import document
from opsctl.router.sources import SOURCES
from tests.router_support import Router, assert_no_tracebacks_logged, request, running_router, signed_headers, token_for

schema = schemathesis.openapi.from_dict(document())

FUZZ = settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    from tests.support import REPO_ROOT

    org = load_working_tree(REPO_ROOT).require_ok()
    with running_router(tmp_path_factory.mktemp("fuzz"), org, worker=False) as router:
        yield router


@pytest.fixture(autouse=True)
def _no_tracebacks_logged(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    caplog.set_level(logging.WARNING)
    yield
    assert_no_tracebacks_logged(caplog)


def _send(case: Any, base: str) -> requests.Response:
    kwargs = case.as_transport_kwargs(base_url=base)
    path = case.operation.path
    if path.startswith("/v1/alerts/") and "json" in kwargs:
        # sign or authenticate the exact bytes that go out, as a configured sender does
        body = json.dumps(kwargs.pop("json")).encode()
        source = path.rsplit("/", 1)[1]
        kwargs["data"] = body
        kwargs["headers"] = {**(kwargs.get("headers") or {}), **signed_headers(source, body)}
    elif path.startswith("/v1/heartbeats/"):
        kwargs["headers"] = {**(kwargs.get("headers") or {}), "Authorization": f"Bearer {token_for('heartbeat')}"}
    return requests.request(**kwargs, timeout=30)


@schema.parametrize()
@FUZZ
def test_every_answer_conforms_to_the_openapi_document(case: Any, live: Router) -> None:
    response = _send(case, live.url)
    # the query parameters of /v1/oncall are free text in the document but must name a
    # known team or pipeline and a readable time: a 400 for them is the documented answer
    # (and a heartbeat must name a pipeline of the org: a 404 for any other name is documented)
    known_only = ("/v1/oncall", "/v1/heartbeats/{pipeline}")
    excluded = [checks.positive_data_acceptance] if case.operation.path in known_only else []
    if response.status_code == 413:
        # refused for its size before its shape is read: a rejection, whatever schemathesis expected
        excluded.append(checks.negative_data_rejection)
    case.validate_response(response, excluded_checks=excluded)
    assert b"Traceback" not in response.content


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=12), children, max_size=6),
    max_leaves=25,
)

# bodies near a source's real shape reach deeper into the parsers than random JSON does
near_shapes = st.fixed_dictionaries(
    {},
    optional={
        "dag_id": json_values,
        "summary": json_values,
        "suite": json_values,
        "success": json_values,
        "alerts": st.lists(
            st.fixed_dictionaries({}, optional={"labels": json_values, "status": json_values, "annotations": json_values}),
            max_size=3,
        )
        | json_values,
        "eventType": st.sampled_from(["job.run.errored", "job.run.completed", "job.run.started"]) | json_values,
        "eventId": json_values,
        "data": st.fixed_dictionaries({}, optional={"jobId": json_values, "runStatusCode": json_values}) | json_values,
        "state": json_values,
        "status": json_values,
        "failed_expectations": json_values,
        "links": json_values,
        "labels": json_values,
        "try_number": json_values,
    },
)

DOCUMENTED = {200, 202, 400, 413, 415, 422}


def _check(live: Router, source: str, body: bytes) -> None:
    answer = request(f"{live.url}/v1/alerts/{source}", "POST", body, signed_headers(source, body))
    assert answer.status in DOCUMENTED, (answer.status, answer.text)
    data = answer.json()
    if answer.status >= 400:
        assert set(data) == {"error", "message", "status"} and data["status"] == answer.status
        assert data["message"] and "Traceback" not in data["message"]
    else:
        assert data["status"] in ("accepted", "ignored")


@pytest.mark.parametrize("source", SOURCES)
@given(body=json_values | near_shapes)
@FUZZ
def test_any_json_gets_a_documented_answer(live: Router, source: str, body: Any) -> None:
    _check(live, source, json.dumps(body).encode())


@pytest.mark.parametrize("source", SOURCES)
@given(body=st.binary(max_size=200))
@FUZZ
def test_any_bytes_get_a_documented_answer(live: Router, source: str, body: bytes) -> None:
    _check(live, source, body)
