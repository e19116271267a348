"""The bucket-verify API through the official Edge Impulse client (PyPI
edgeimpulse-api): credentials in the request for every provider, a stored
config named by its integer id (bucketId) without a secret, the
existing-bucket route, and the error paths. Every verification is polled
(the same body re-POSTed) until its connectionStatus is final."""

from __future__ import annotations

import base64
import secrets

import edgeimpulse_api as ei
import pytest
from edgeimpulse_api.exceptions import ApiException, ForbiddenException, UnauthorizedException

import support
from support import raises

# An integer bucketId no storage config has.
UNKNOWN_BUCKET_ID = 2**31 - 7


def assert_connected(answers: list[ei.VerifyOrganizationBucketResponse], sas_only: bool = False) -> ei.VerifyOrganizationBucketResponse:
    """Checks a polled verification: every answer a success, "connecting"
    until "connected", and the connected answer's files, info.labels flag
    and signed URL. A stored config whose only credential is a SAS token
    (sas_only) gets no signed URL: it would carry the stored token."""
    for a in answers:
        assert a.success is True, a.to_dict()
        assert a.connection_status in ("connecting", "connected"), a.to_dict()
    last = answers[-1]
    got = last.to_dict()
    assert last.connection_status == "connected", got
    assert not last.connection_error, got
    assert isinstance(last.files, list) and last.files, got
    for f in last.files:
        assert isinstance(f.name, str) and f.name, got
    assert type(last.has_info_labels_file) is bool, got
    assert last.has_info_labels_file is True, f"the fixture's buckets hold an info.labels under the prefix: {got}"
    if sas_only:
        assert last.signed_url is None, f"a signed URL for a SAS-only config carries the stored token: {got}"
        return last
    assert isinstance(last.signed_url, str) and last.signed_url.startswith("http"), got
    return last


def sas_only(body: dict) -> bool:
    """Whether a storage-configs create body's only credential is an Azure
    SAS token."""
    return "azure_sas_token" in body and "azure_account_key" not in body


def failure(fn, *args) -> str:
    """Calls fn, a bucket-verify call whose answer must be HTTP 200 with
    success false, and returns its error. The client raises a bare
    Exception(error) for such an answer (ApiClient.deserialize); an
    ApiException would mean another HTTP status."""
    e = raises(Exception, fn, *args)
    assert not isinstance(e, ApiException), f"HTTP {e.status}, want 200 with success false: {e}"
    assert type(e) is Exception, f"{type(e).__name__}: {e}"
    msg = str(e)
    assert msg, "success false without an error"
    return msg


def test_verify_with_credentials(ei_api, fx, verify_entry):
    api = ei_api["admin"]
    req = support.verify_request(verify_entry["body"])
    answers = support.poll_verify(lambda: api.verify_organization_bucket(fx["org"]["id"], req))
    assert_connected(answers)


def test_verify_stored_by_integer_id(ei_api, fx, stored, config_entry):
    """bucketId is the config's integer id and no secretKey is given: the
    stored credentials are used."""
    c = stored.get(config_entry["label"])
    api = ei_api["admin"]
    req = support.stored_verify_request(c.body, c.id)
    assert req.secret_key is None
    assert_connected(support.poll_verify(lambda: api.verify_organization_bucket(fx["org"]["id"], req)), sas_only(c.body))


def test_verify_existing_bucket(ei_api, fx, stored, config_entry):
    """POST .../buckets/{bucketId}/verify verifies the stored config with
    its stored credentials, at its own prefix and at a sub-prefix."""
    c = stored.get(config_entry["label"])
    api = ei_api["admin"]
    prefix = support.config_prefix(c.body)
    for p in (prefix, prefix + "train/"):
        req = ei.VerifyOrganizationExistingBucketRequest(prefix=p)
        answers = support.poll_verify(lambda: api.verify_existing_organization_bucket(fx["org"]["id"], c.id, req))
        assert_connected(answers, sas_only(c.body))


def test_verify_wrong_secret(ei_api, fx, verify_entry):
    api = ei_api["admin"]
    req = support.verify_request(verify_entry["body"], secret_key=wrong_secret(verify_entry["body"]))
    last = support.poll_verify(lambda: api.verify_organization_bucket(fx["org"]["id"], req))[-1]
    assert last.success is True, last.to_dict()
    assert last.connection_status == "error", last.to_dict()
    assert isinstance(last.connection_error, str) and last.connection_error, last.to_dict()


def wrong_secret(body: dict) -> str:
    """A secret of the same shape as body's that is not its (Azure account
    keys are base64)."""
    if body.get("storageProvider") == "azure":
        return base64.b64encode(secrets.token_bytes(64)).decode()
    return secrets.token_urlsafe(30)[:40]


def test_verify_unknown_bucket_id(ei_api, fx):
    body = fx["verify"][0]["body"]
    api = ei_api["admin"]
    req = support.verify_request(body, secret_key=None, bucket_id=UNKNOWN_BUCKET_ID)
    err = failure(api.verify_organization_bucket, fx["org"]["id"], req)
    assert err.startswith("bucketId"), err


def test_verify_other_orgs_bucket_id(ei_api, fx, other_stored):
    api = ei_api["admin"]
    req = support.stored_verify_request(other_stored.body, other_stored.id)
    e = raises(ForbiddenException, api.verify_organization_bucket, fx["org"]["id"], req)
    assert e.status == 403
    existing = ei.VerifyOrganizationExistingBucketRequest(prefix=support.config_prefix(other_stored.body))
    e = raises(ForbiddenException, api.verify_existing_organization_bucket, fx["org"]["id"], other_stored.id, existing)
    assert e.status == 403


def test_verify_other_org(ei_api, fx):
    """The admin of one org may not verify in another."""
    req = support.verify_request(fx["verify"][0]["body"])
    e = raises(ForbiddenException, ei_api["admin"].verify_organization_bucket, fx["other_org"]["id"], req)
    assert e.status == 403


def test_verify_bad_key(fx):
    api = support.ei_api(fx, "blk_" + "0" * 40)
    req = support.verify_request(fx["verify"][0]["body"])
    e = raises(UnauthorizedException, api.verify_organization_bucket, fx["org"]["id"], req)
    assert e.status == 401


@pytest.mark.parametrize("provider", ["edgeimpulse", "huggingface"])
def test_verify_unsupported_provider(ei_api, fx, provider):
    """Values of the client's StorageProvider enum that bucketlink does not
    serve answer success false naming the supported ones, never a 5xx."""
    req = support.verify_request(fx["verify"][0]["body"], storage_provider=provider)
    assert str(req.storage_provider) == provider
    err = failure(ei_api["admin"].verify_organization_bucket, fx["org"]["id"], req)
    for name in ("s3", "google", "azure", "other"):
        assert f'"{name}"' in err, f"{name!r} not named in {err!r}"
