"""The Slack Web API client from ``slack-sdk``, with rate-limit retries.

``slack_sdk.WebClient`` does not retry status 429 by default; the
``RateLimitErrorRetryHandler`` added here waits for ``Retry-After`` and tries again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from opsctl.vendors.config import VendorConfig

if TYPE_CHECKING:
    from slack_sdk import WebClient


def slack_client(config: VendorConfig, *, rate_limit_retries: int = 3, timeout: int = 10) -> WebClient:
    from slack_sdk import WebClient
    from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

    from opsctl.errors import UsageError

    if not config.slack_token:
        raise UsageError("SLACK_BOT_TOKEN is not set: export a Slack bot token")
    base = config.slack_api_url if config.slack_api_url.endswith("/") else config.slack_api_url + "/"
    return WebClient(
        token=config.slack_token,
        base_url=base,
        timeout=timeout,
        retry_handlers=[
            ConnectionErrorRetryHandler(max_retry_count=2),
            RateLimitErrorRetryHandler(max_retry_count=rate_limit_retries),
        ],
    )
