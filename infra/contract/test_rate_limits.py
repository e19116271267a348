"""Rate limits through the official clients. Every authenticated answer
carries X-RateLimit-Limit (the bucket's burst), X-RateLimit-Remaining and
X-RateLimit-Reset (delta-seconds until the bucket is full again), which
avala keeps as Client.rate_limit_info; past a key's burst the API answers
429 with Retry-After (delta-seconds): avala raises RateLimitError with
retry_after, edgeimpulse-api an ApiException 429 whose body is the
bucket-verify API's {success: false, error}.

The 429 tests run against the fixture's rate_limited service (a second
deployment with a small burst), and are skipped without one; the main
service's limits are high enough that no other test meets them."""

from __future__ import annotations

import json
import uuid

import pytest
from avala.errors import NotFoundError, RateLimitError
from edgeimpulse_api.exceptions import ApiException, ForbiddenException

import support
from support import raises

HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


def numbers(info: dict) -> tuple[int, int, int]:
    """limit, remaining and reset of an avala rate_limit_info, each of
    which must be a non-negative integer (avala keeps them as strings)."""
    out = []
    for k in ("limit", "remaining", "reset"):
        v = info.get(k)
        assert isinstance(v, str) and v.isdigit(), f"rate_limit_info[{k!r}] = {v!r}, want a number: {info}"
        out.append(int(v))
    limit, remaining, reset = out
    assert limit >= 1 and 0 <= remaining < limit, info
    return limit, remaining, reset


def header_numbers(headers) -> tuple[int, int, int]:
    """The three headers of an edgeimpulse-api answer, as numbers."""
    return numbers({"limit": headers.get(HEADERS[0]), "remaining": headers.get(HEADERS[1]), "reset": headers.get(HEADERS[2])})


def test_rate_limit_info(av, fx):
    """avala exposes the headers of every answer, errors included, with
    each key's own bucket of the read class."""
    for role in ("admin", "member", "viewer", "other_admin"):
        client = av[role]
        assert client.storage_configs.list(limit=1) is not None
        limit, _, _ = numbers(client.rate_limit_info)
        client.storage_configs.setup_info()
        assert numbers(client.rate_limit_info)[0] == limit, "list and setup-info are both reads"
    raises(NotFoundError, av["admin"].storage_configs.get, str(uuid.uuid4()))
    numbers(av["admin"].rate_limit_info)


def test_bucket_verify_rate_limit_headers(ei_api, fx):
    """The bucket-verify API's answers carry the headers too, a refusal
    (403, another org) as well as a started verification (at a prefix of
    its own, so that no other test's verification is touched)."""
    api = ei_api["admin"]
    req = support.verify_request(fx["verify"][0]["body"], prefix="rate-limit-probe/")
    data, status, headers = api._verify_organization_bucket_with_http_info(fx["org"]["id"], req)
    assert status == 200 and data.success is True, data
    limit, _, _ = header_numbers(headers)
    e = raises(ForbiddenException, api.verify_organization_bucket, fx["other_org"]["id"], req)
    assert header_numbers(e.headers)[0] == limit


@pytest.fixture
def limited(fx):
    rl = fx.get("rate_limited")
    if not rl:
        pytest.skip("the driver gives no rate_limited service")
    return rl


def test_avala_rate_limit_error(limited):
    """The burst counted out through rate_limit_info, then RateLimitError
    with retry_after a float (Retry-After), DRF's throttled detail as the
    message, and the headers still read."""
    with support.avala_client({"base_url": limited["base_url"]}, limited["key"]) as client:
        client.storage_configs.setup_info()
        limit, remaining, _ = numbers(client.rate_limit_info)
        assert limit <= 10 and remaining == limit - 1, client.rate_limit_info
        for want in range(remaining - 1, -1, -1):
            client.storage_configs.list(limit=1)
            assert numbers(client.rate_limit_info)[1] == want, client.rate_limit_info
        e = raises(RateLimitError, client.storage_configs.setup_info)
        assert e.status_code == 429
        assert isinstance(e.retry_after, float) and e.retry_after >= 1, e.retry_after
        assert e.message == f"Request was throttled. Expected available in {int(e.retry_after)} seconds.", e.message
        assert e.body == {"detail": e.message}
        _, remaining, reset = numbers(client.rate_limit_info)
        assert remaining == 0 and reset >= e.retry_after, client.rate_limit_info
        # list takes from the same (read) bucket as setup-info.
        raises(RateLimitError, client.storage_configs.list)


def test_edgeimpulse_rate_limited(limited):
    """The verify class's burst counted out, then an ApiException 429 with
    the {success: false, error} body and Retry-After."""
    api = support.ei_api({"base_url": limited["base_url"]}, limited["key"])
    req = support.verify_request(limited["verify"]["body"])

    def call():
        data, status, headers = api._verify_organization_bucket_with_http_info(limited["org"]["id"], req)
        assert status == 200 and data.success is True, data
        return header_numbers(headers)

    limit, remaining, _ = call()
    assert limit <= 10 and remaining == limit - 1
    for want in range(remaining - 1, -1, -1):
        assert call()[1] == want
    e = raises(ApiException, api.verify_organization_bucket, limited["org"]["id"], req)
    assert e.status == 429, e
    body = json.loads(e.body)
    assert body["success"] is False and "rate limited" in body["error"], body
    assert set(body) == {"success", "error"}, body
    assert int(e.headers["Retry-After"]) >= 1
    assert e.headers["X-RateLimit-Remaining"] == "0"
