"""Shared helpers of the client-contract tests: the fixture file, the two
official clients wired to record every response, the storage-config field
table, and the polling of bucket-verify.

The fixture is one JSON file named by $BUCKETLINK_CONTRACT_FIXTURE, written
by a Go driver (infra/contract.Run):

    {"base_url": "http://127.0.0.1:PORT",
     "org": {"id": 1, "slug": "default"}, "other_org": {"id": 2, "slug": "other"},
     "keys": {"admin": "...", "member": "...", "viewer": "...", "other_admin": "..."},
     "configs": [{"label": "aws_s3", "body": {...storage-configs create body...}}, ...],
     "verify":  [{"label": "s3", "body": {...bucket-verify body with secretKey...}}, ...],
     "rate_limited": {"base_url": ..., "org": {...}, "key": "...", "verify": {"label": ..., "body": {...}}}}

configs holds one valid create body per provider and credential kind the
driver can serve, verify one bucket-verify body (camelCase, with its
secretKey) per storageProvider; neither may be empty. Every bucket or
container they name holds at least one object and an "info.labels" under
"<prefix>train/", where <prefix> is the body's prefix, ending in "/".
rate_limited is optional: a second service whose rate limits
test_rate_limits.py exhausts (infra/contract.RateLimited).
"""

from __future__ import annotations

import inspect
import json
import os
import re
import time
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl

import edgeimpulse_api as ei
import pytest
from avala import Client
from avala.resources.storage_configs import StorageConfigs
from avala.types.storage_config import StorageConfig

FIXTURE_ENV = "BUCKETLINK_CONTRACT_FIXTURE"

# How long a bucket-verify verification may stay "connecting" before a
# test gives up, and how often it re-POSTs meanwhile.
POLL_TIMEOUT = 30.0
POLL_INTERVAL = 0.2

# The storage-configs create fields that hold secrets (write-only), and the
# bucket-verify one.
SECRET_FIELDS = (
    "s3_secret_access_key",
    "gc_storage_auth_json_content",
    "gc_storage_hmac_secret",
    "azure_account_key",
    "azure_sas_token",
    "secretKey",
)

# storageProvider of the bucket-verify API for each storage-config provider.
EI_PROVIDER = {"aws_s3": "s3", "s3_compatible": "other", "gc_storage": "google", "azure_blob": "azure"}

# The storage-config fields of the spec with their JSON types: "str", "int",
# "bool", "datetime", and "|null" where null is allowed. "id" is the
# additive integer id the bucket-verify API's bucketId takes.
FIELD_TYPES = {
    "uid": "str",
    "id": "int",
    "name": "str",
    "provider": "str",
    "s3_bucket_name": "str|null",
    "s3_bucket_region": "str|null",
    "s3_bucket_prefix": "str|null",
    "s3_is_accelerated": "bool",
    "gc_storage_bucket_name": "str|null",
    "gc_storage_prefix": "str|null",
    "is_verified": "bool",
    "last_verified_at": "datetime|null",
    "created_at": "datetime",
    "updated_at": "datetime",
}


# The create fields the SDK's storage_configs.create takes as arguments.
SDK_CREATE_FIELDS = set(inspect.signature(StorageConfigs.create).parameters) - {"self", "organization"}


def load_fixture() -> dict[str, Any]:
    """Reads and checks the fixture file; raises on anything missing."""
    path = os.environ.get(FIXTURE_ENV)
    if not path:
        raise RuntimeError(f"{FIXTURE_ENV} is not set; run the suite through infra/contract.Run")
    with open(path, encoding="utf-8") as f:
        fx = json.load(f)
    for k in ("base_url", "org", "other_org", "keys", "configs", "verify"):
        if k not in fx:
            raise RuntimeError(f"fixture {path}: no {k!r}")
    for k in ("admin", "member", "viewer", "other_admin"):
        if not fx["keys"].get(k):
            raise RuntimeError(f"fixture {path}: no keys.{k}")
    for k in ("configs", "verify"):
        if not fx[k]:
            raise RuntimeError(f"fixture {path}: {k!r} is empty")
        labels = [e["label"] for e in fx[k]]
        if len(set(labels)) != len(labels):
            raise RuntimeError(f"fixture {path}: duplicate labels in {k!r}: {labels}")
    return fx


def secrets_of(fx: dict[str, Any]) -> dict[str, str]:
    """Every secret the fixture holds, each with a name saying where it is
    from: the API keys, the secret fields of the bodies, a SAS token's
    signature, and the lines of a service-account key's private key (long
    enough not to match by chance)."""
    out = {v: f"keys.{k}" for k, v in fx["keys"].items()}
    limited = fx.get("rate_limited")
    if limited:
        out[limited["key"]] = "rate_limited.key"
    for kind in ("configs", "verify"):
        for e in fx[kind] + ([limited["verify"]] if limited and kind == "verify" else []):
            for field in SECRET_FIELDS:
                v = e["body"].get(field)
                if not v:
                    continue
                name = f"{kind}[{e['label']}].{field}"
                out[v] = name
                if field == "azure_sas_token":
                    for sig in [s for k, s in parse_qsl(v.lstrip("?")) if k == "sig"] + re.findall(r"(?:^|[?&])sig=([^&]+)", v):
                        out[sig] = name + " signature"
                if field == "gc_storage_auth_json_content":
                    key = json.loads(v).get("private_key", "")
                    for ln in key.splitlines():
                        if len(ln) >= 24 and "PRIVATE KEY" not in ln:
                            out[ln] = name + " private_key"
    return {v: n for v, n in out.items() if len(v) >= 8}


class Recorder:
    """Collects the text of every response and exception the clients see."""

    def __init__(self) -> None:
        self.texts: list[str] = []

    def add(self, text: Any) -> None:
        """Records text (str or bytes); a JSON text is also recorded
        decoded, so that an escaped secret (Go writes & as \\u0026) shows."""
        if isinstance(text, bytes):
            text = text.decode("utf-8", "replace")
        if not text:
            return
        text = str(text)
        self.texts.append(text)
        try:
            decoded = json.loads(text)
        except ValueError:
            return
        self.texts.append(json.dumps(decoded, ensure_ascii=False))

    def leaks(self, secrets: dict[str, str], start: int = 0) -> list[str]:
        """Describes each text recorded from index start on that contains
        one of secrets (value: name), with the secret itself masked."""
        out = []
        for t in self.texts[start:]:
            for value, name in secrets.items():
                i = t.find(value)
                if i >= 0:
                    excerpt = t[max(0, i - 80) : i + len(value) + 80].replace(value, f"<{name}>")
                    out.append(f"{name} in ...{excerpt}...")
        return out


RECORDER = Recorder()


def avala_client(fx: dict[str, Any], key: str) -> Client:
    """The official avala client for the fixture's server, recording every
    response body."""
    c = Client(api_key=key, base_url=fx["base_url"] + "/api/v1", max_retries=0)

    def record(response) -> None:
        response.read()
        RECORDER.add(response.text)

    c._transport._client.event_hooks["response"].append(record)
    return c


def ei_api(fx: dict[str, Any], key: str) -> ei.OrganizationDataApi:
    """The official edgeimpulse-api OrganizationDataApi for the fixture's
    server, recording every response body and never following a redirect
    (a 3xx surfaces as an ApiException)."""
    cfg = ei.Configuration(host=fx["base_url"] + "/v1")
    cfg.api_key["ApiKeyAuthentication"] = key
    client = ei.ApiClient(cfg)
    rest = client.rest_client
    pool_request = rest.pool_manager.request

    def no_redirect(*args, **kwargs):
        kwargs["redirect"] = False
        return pool_request(*args, **kwargs)

    rest.pool_manager.request = no_redirect
    rest_request = rest.request

    def record(*args, **kwargs):
        try:
            r = rest_request(*args, **kwargs)
        except ei.ApiException as e:
            RECORDER.add(e.body)
            raise
        RECORDER.add(r.data)
        return r

    rest.request = record
    return ei.OrganizationDataApi(client)


def check_field(name: str, value: Any, kind: str) -> str | None:
    """Returns what is wrong with value for the field table's kind, or None."""
    base, _, null = kind.partition("|")
    if value is None:
        return None if null else f"{name} is null, want {kind}"
    if base == "str" and type(value) is not str:
        return f"{name} = {value!r} ({type(value).__name__}), want {kind}"
    if base == "int" and type(value) is not int:
        return f"{name} = {value!r} ({type(value).__name__}), want {kind}"
    if base == "bool" and type(value) is not bool:
        return f"{name} = {value!r} ({type(value).__name__}), want {kind}"
    if base == "datetime":
        if type(value) is not str:
            return f"{name} = {value!r} ({type(value).__name__}), want {kind}"
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"{name} = {value!r}, want an ISO 8601 {kind}"
    return None


def field_problems(raw: dict[str, Any]) -> list[str]:
    """Checks a raw storage-config answer against FIELD_TYPES and the
    per-provider rules: s3_is_accelerated false except for aws_s3."""
    out = []
    for name, kind in FIELD_TYPES.items():
        if name not in raw:
            out.append(f"{name} is missing")
            continue
        p = check_field(name, raw[name], kind)
        if p:
            out.append(p)
    if raw.get("provider") != "aws_s3" and raw.get("s3_is_accelerated") is not False:
        out.append(f"s3_is_accelerated = {raw.get('s3_is_accelerated')!r} for {raw.get('provider')}, want false")
    return out


def poll_verify(call, timeout: float = POLL_TIMEOUT) -> list[ei.VerifyOrganizationBucketResponse]:
    """Calls call() (one bucket-verify POST) until its connection_status is
    final, and returns every answer; fails after timeout seconds of
    "connecting". (An answer with success false raises in the client.)"""
    answers = [call()]
    end = time.monotonic() + timeout
    while answers[-1].connection_status == "connecting":
        if time.monotonic() > end:
            raise AssertionError(f"still connecting after {timeout:.0f}s: {answers[-1].to_dict()}")
        time.sleep(POLL_INTERVAL)
        answers.append(call())
    return answers


def stored_verify_request(body: dict[str, Any], config_id: int, prefix: str | None = None) -> ei.VerifyOrganizationBucketRequest:
    """The bucket-verify request that names a stored config by its integer
    id and gives no secretKey, with the values the client requires taken
    from the config's create body (accessKey, bucket, endpoint; "" where
    the config has none)."""
    p = body["provider"]
    access_key, bucket, endpoint = "", "", ""
    if p in ("aws_s3", "s3_compatible"):
        access_key, bucket = body.get("s3_access_key_id", ""), body["s3_bucket_name"]
        endpoint = body.get("s3_endpoint_url", "")
        default_prefix = body.get("s3_bucket_prefix")
    elif p == "gc_storage":
        access_key, bucket = body.get("gc_storage_hmac_access_id", ""), body["gc_storage_bucket_name"]
        default_prefix = body.get("gc_storage_prefix")
    else:
        access_key, bucket = body["azure_account_name"], body["azure_container_name"]
        endpoint = body.get("azure_endpoint_url", "")
        default_prefix = body.get("azure_prefix")
    return ei.VerifyOrganizationBucketRequest(
        storage_provider=EI_PROVIDER[p],
        access_key=access_key,
        bucket_id=config_id,
        bucket=bucket,
        endpoint=endpoint,
        prefix=prefix if prefix is not None else (default_prefix or ""),
    )


def config_prefix(body: dict[str, Any]) -> str:
    """The prefix a create body gives, whatever its provider ("" if none)."""
    for k in ("s3_bucket_prefix", "gc_storage_prefix", "azure_prefix"):
        if body.get(k):
            return body[k]
    return ""


def verify_request(body: dict[str, Any], **edit: Any) -> ei.VerifyOrganizationBucketRequest:
    """The client model of a fixture bucket-verify body (camelCase keys),
    with endpoint "" when the body has none (the client requires one), and
    the snake_case fields of edit replacing the body's."""
    fields = {
        "storage_provider": body.get("storageProvider"),
        "access_key": body.get("accessKey", ""),
        "secret_key": body.get("secretKey"),
        "bucket_id": body.get("bucketId"),
        "bucket": body.get("bucket", ""),
        "endpoint": body.get("endpoint", ""),
        "region": body.get("region"),
        "prefix": body.get("prefix"),
    }
    fields.update(edit)
    return ei.VerifyOrganizationBucketRequest(**{k: v for k, v in fields.items() if v is not None})


class Created:
    """A storage config a test created: its fixture label and body, the
    SDK model, and its raw JSON (the create answer, or a GET right after
    an SDK create, which returns only the model)."""

    def __init__(self, label: str, body: dict[str, Any], model: StorageConfig, raw: dict[str, Any]) -> None:
        self.label, self.body, self.model, self.raw = label, body, model, raw

    @property
    def uid(self) -> str:
        return self.model.uid

    @property
    def id(self) -> int:
        v = self.raw.get("id")
        assert type(v) is int, f"{self.label}: the storage config has no integer id: id = {v!r}"
        return v


def create(client, label: str, body: dict[str, Any], organization: str | None = None) -> Created:
    """Creates body through the SDK's create where it can express it
    (aws_s3, gc_storage service account), else through the SDK's transport
    validated with the SDK's model, as its create does."""
    params = {"organization": organization} if organization else None
    if body["provider"] in ("aws_s3", "gc_storage") and set(body) <= SDK_CREATE_FIELDS:
        model = client.storage_configs.create(organization=organization, **body)
        raw = client._transport.request("GET", f"/storage-configs/{model.uid}/", params=params)
    else:
        raw = client._transport.request("POST", "/storage-configs/", json=body, params=params)
        model = StorageConfig.model_validate(raw)
    return Created(label, body, model, raw)


def raises(exc_type, fn, *args, **kwargs):
    """Calls fn and returns the exception of exc_type it raises (failing
    otherwise), recording its text for the secret check."""
    with pytest.raises(exc_type) as info:
        fn(*args, **kwargs)
    RECORDER.add(str(info.value))
    RECORDER.add(repr(info.value))
    return info.value
