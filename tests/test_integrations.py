"""The shipped Airflow callback and Great Expectations action, posting to a live router.

Neither Airflow nor Great Expectations is installed here: the callback reads a context
the way Airflow passes it, and the action's helpers read a checkpoint result the way GX
1.x builds it, both as plain objects with the same attributes.
"""

from __future__ import annotations

import importlib.util
import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import pytest

from opsctl.repo.loader import load_working_tree
from tests.router_support import Router, clock_at, running_router, token_for, wait_until
from tests.support import REPO_ROOT


def load(relative: str) -> ModuleType:
    path = REPO_ROOT / "integrations" / relative
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


airflow = load("airflow/opsctl_callback.py")
great_expectations = load("great_expectations/opsctl_action.py")


@pytest.fixture(scope="module")
def router(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Router]:
    org = load_working_tree(REPO_ROOT).require_ok()
    at = datetime.fromisoformat("2026-12-02T10:00+01:00")
    with running_router(tmp_path_factory.mktemp("integrations"), org, clock=clock_at(at)) as live:
        yield live


def airflow_context(**extra: Any) -> dict[str, Any]:
    ti = SimpleNamespace(
        dag_id="aggregate_engagement_investors",
        task_id="sessionize_events",
        try_number=2,
        log_url="https://airflow.example.com/log?dag_id=aggregate_engagement_investors&task_id=sessionize_events",
    )
    return {
        "dag": SimpleNamespace(dag_id="aggregate_engagement_investors"),
        "task_instance": ti,
        "ti": ti,
        "run_id": "scheduled__2026-12-02T05:00:00+00:00",
        "logical_date": datetime(2026, 12, 2, 5, 0, tzinfo=UTC),
        "exception": ValueError("no partition for 2026-12-01 in raw.product_events"),
    } | extra


def test_airflow_callback_body() -> None:
    assert airflow.build_body(airflow_context()) == {
        "dag_id": "aggregate_engagement_investors",
        "task_id": "sessionize_events",
        "run_id": "scheduled__2026-12-02T05:00:00+00:00",
        "try_number": 2,
        "state": "failed",
        "log_url": "https://airflow.example.com/log?dag_id=aggregate_engagement_investors&task_id=sessionize_events",
        "logical_date": "2026-12-02T05:00:00+00:00",
        "exception": "ValueError: no partition for 2026-12-01 in raw.product_events",
    }


def test_airflow_callbacks_page_and_resolve(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPSCTL_URL", router.url)
    monkeypatch.setenv("OPSCTL_AIRFLOW_TOKEN", token_for("airflow"))
    airflow.opsctl_on_failure(airflow_context())
    wait_until(lambda: router.pd.pages("opsctl:aggregate_engagement_investors:airflow:aggregate_engagement_investors"))
    success = {"dag": SimpleNamespace(dag_id="aggregate_engagement_investors"), "run_id": "scheduled__2026-12-02T05:00:00+00:00"}
    airflow.opsctl_on_success(success)
    wait_until(lambda: router.pd.incidents[-1].status == "resolved")
    assert router.pd.rejected == []


def test_airflow_callback_never_raises_into_airflow(
    router: Router, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING)
    monkeypatch.setattr(airflow, "ATTEMPTS", 1)
    assert airflow.post({"dag_id": "x"}, url="http://127.0.0.1:9", token="t") is False
    assert airflow.post({"dag_id": "x"}, url=router.url, token="wrong") is False
    assert "opsctl refused the alert: 401" in caplog.text
    assert airflow.post({"dag_id": "x"}, url="", token="") is False


def checkpoint_result(success: bool) -> SimpleNamespace:
    failed = [
        SimpleNamespace(
            success=False,
            expectation_config=SimpleNamespace(type="expect_column_values_to_not_be_null", kwargs={"column": "user_id"}),
        ),
        SimpleNamespace(
            success=False,
            expectation_config=SimpleNamespace(type="expect_table_row_count_to_be_between", kwargs={}),
        ),
    ]
    passed = [SimpleNamespace(success=True, expectation_config=SimpleNamespace(type="expect_column_to_exist", kwargs={}))]
    result = SimpleNamespace(
        success=success,
        suite_name="aggregate_engagement_investors.active_users",
        results=passed if success else passed + failed,
        meta={"active_batch_definition": {"data_asset_name": "marts.investor_engagement_daily"}},
    )
    return SimpleNamespace(
        checkpoint_config=SimpleNamespace(name="engagement_daily"),
        run_id=SimpleNamespace(run_name=f"run-{success}", run_time=datetime(2026, 12, 2, 6, 0, tzinfo=UTC)),
        run_results={"ValidationResultIdentifier::engagement": result},
    )


def test_great_expectations_bodies() -> None:
    assert great_expectations.bodies(checkpoint_result(False)) == [
        {
            "suite": "aggregate_engagement_investors.active_users",
            "success": False,
            "asset": "marts.investor_engagement_daily",
            "checkpoint": "engagement_daily",
            "run_id": "run-False",
            "run_time": "2026-12-02T06:00:00+00:00",
            "failed_expectations": [
                {"type": "expect_column_values_to_not_be_null", "column": "user_id"},
                {"type": "expect_table_row_count_to_be_between"},
            ],
        }
    ]


def test_great_expectations_action_pages_and_resolves(router: Router) -> None:
    token = token_for("great-expectations")
    for body in great_expectations.bodies(checkpoint_result(False)):
        assert great_expectations.post(body, url=router.url, token=token)
    suite, asset = "aggregate_engagement_investors.active_users", "marts.investor_engagement_daily"
    key = f"opsctl:aggregate_engagement_investors:great-expectations:{suite}:{asset}"
    wait_until(lambda: router.pd.open_incident(key) is not None)
    summary = router.pd.open_incident(key).summary  # type: ignore[union-attr]
    assert summary == (
        f"[investor-facing] Aggregate Engagement for Investors: Great Expectations suite {suite} "
        f"failed on {asset}: 2 expectations failed "
        "(expect_column_values_to_not_be_null(user_id), expect_table_row_count_to_be_between)"
    )
    for body in great_expectations.bodies(checkpoint_result(True)):
        assert great_expectations.post(body, url=router.url, token=token)
    wait_until(lambda: router.pd.open_incident(key) is None)
    assert great_expectations.post({"suite": "x", "success": False}, url="http://127.0.0.1:9", token=token) is False


def test_snippets_in_the_docs_use_the_shipped_files() -> None:
    docs = (REPO_ROOT / "docs" / "alert-sources.md").read_text("utf-8")
    for path in ("integrations/airflow/opsctl_callback.py", "integrations/great_expectations/opsctl_action.py"):
        assert path in docs
        assert Path(REPO_ROOT / path).is_file()


def test_yaml_snippets_in_the_docs_parse() -> None:
    import re

    import yaml

    docs = (REPO_ROOT / "docs" / "alert-sources.md").read_text("utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", docs, flags=re.S)
    assert len(blocks) == 3
    for block in blocks:
        assert isinstance(yaml.safe_load(block), dict)
