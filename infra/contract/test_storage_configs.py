"""The storage-configs API through the official avala client (PyPI avala):
create for every provider, the field types of the spec on the raw JSON,
list across pages both ways, get, test, setup-info, delete, the error
classes, and no redirect on the documented paths."""

from __future__ import annotations

import uuid

import httpx
from avala.errors import AuthenticationError, ForbiddenError, NotFoundError, ValidationError
from avala.types.storage_config import StorageConfig, StorageConfigSetupInfo

import support
from support import raises


def test_create(stored, config_entry):
    c = stored.get(config_entry["label"])
    body = config_entry["body"]
    assert isinstance(c.model, StorageConfig)
    assert c.model.provider == body["provider"]
    assert c.model.name == body["name"]
    assert c.model.is_verified is True, c.raw
    assert c.model.last_verified_at is not None
    assert c.model.s3_is_accelerated is (body["provider"] == "aws_s3" and bool(body.get("s3_is_accelerated")))
    for field in support.SECRET_FIELDS:
        assert field not in c.raw or c.raw[field] is None, f"{field} returned"


def test_field_types(av, stored, config_entry):
    """Every field of the spec's table, with its JSON type, on a raw GET."""
    c = stored.get(config_entry["label"])
    raw = av["admin"]._transport.request("GET", f"/storage-configs/{c.uid}/")
    assert support.field_problems(raw) == []
    assert raw["uid"] == c.uid
    assert support.field_problems(c.raw) == [], "the create answer"


def test_ids_unique_across_orgs(av, stored, other_stored):
    ids = [c.id for c in stored.all()] + [other_stored.id]
    assert len(set(ids)) == len(ids), ids


def test_list_pages_both_ways(av, fx, stored):
    """An org holding configs of every provider, listed two at a time to the
    end with next_cursor, then back with previous_cursor: the same configs
    both ways, none twice, all of them there."""
    want = {c.uid for c in stored.all()}
    providers = {e["body"]["provider"] for e in fx["configs"]}
    client = av["admin"].storage_configs

    forward: list[str] = []
    page = client.list(limit=2)
    pages = 1
    while True:
        assert len(page.items) <= 2
        assert all(isinstance(i, StorageConfig) for i in page.items)
        forward += [i.uid for i in page.items]
        if not page.next_cursor:
            break
        page = client.list(limit=2, cursor=page.next_cursor)
        pages += 1
        assert pages < 100, "next_cursor never ends"
    assert len(forward) == len(set(forward)), f"duplicates going forward: {forward}"
    assert want <= set(forward)
    assert pages >= (len(want) + 1) // 2

    backward: list[str] = [i.uid for i in page.items]
    while page.previous_cursor:
        page = client.list(limit=2, cursor=page.previous_cursor)
        assert len(page.items) <= 2
        backward = [i.uid for i in page.items] + backward
        assert len(backward) <= len(forward) + 2, "previous_cursor never ends"
    assert len(backward) == len(set(backward)), f"duplicates going back: {backward}"
    assert set(backward) == set(forward)
    assert backward == forward, "the pages back are not the pages forward"

    listed = {i.provider for i in client.list(limit=100, organization=fx["org"]["slug"]).items}
    assert providers <= listed


def test_get(av, fx, stored, config_entry):
    c = stored.get(config_entry["label"])
    client = av["admin"].storage_configs
    plain = client.get(c.uid)
    scoped = client.get(c.uid, organization=fx["org"]["slug"])
    assert plain == scoped
    assert plain.uid == c.uid and plain.provider == c.model.provider
    assert av["viewer"].storage_configs.get(c.uid).uid == c.uid


def test_test(av, stored, config_entry):
    c = stored.get(config_entry["label"])
    got = av["admin"].storage_configs.test(c.uid)
    assert isinstance(got, dict)
    assert got.get("verified") is True, got
    assert isinstance(got.get("checks"), list)
    assert av["member"].storage_configs.test(c.uid).get("verified") is True
    raises(ForbiddenError, av["viewer"].storage_configs.test, c.uid)


def test_setup_info(av, fx):
    admin = av["admin"].storage_configs
    info = admin.setup_info()
    assert isinstance(info, StorageConfigSetupInfo)
    assert info.avala_aws_account_id and info.external_id
    assert admin.setup_info(organization=fx["org"]["slug"]) == info
    assert av["viewer"].storage_configs.setup_info() == info
    other = av["other_admin"].storage_configs.setup_info()
    assert other.external_id != info.external_id


def test_delete(av, fx):
    e = fx["configs"][0]
    c = support.create(av["admin"], e["label"], dict(e["body"], name="to delete"))
    raises(ForbiddenError, av["viewer"].storage_configs.delete, c.uid)
    assert av["admin"].storage_configs.delete(c.uid) is None
    raises(NotFoundError, av["admin"].storage_configs.get, c.uid)
    raises(NotFoundError, av["admin"].storage_configs.delete, c.uid)


def test_errors(av, fx):
    admin = av["admin"].storage_configs
    bad = raises(ValidationError, admin.create, name="no bucket", provider="aws_s3")
    assert bad.status_code == 400 and isinstance(bad.body, dict) and bad.body
    unsupported = raises(ValidationError, admin.create, name="x", provider="dropbox")
    assert "provider" in unsupported.body

    with support.avala_client(fx, "blk_" + "0" * 40) as nobody:
        raises(AuthenticationError, nobody.storage_configs.list)

    e = fx["configs"][0]
    sdk_fields = {k: v for k, v in e["body"].items() if k in support.SDK_CREATE_FIELDS}
    raises(ForbiddenError, av["viewer"].storage_configs.create, **sdk_fields)
    raises(ForbiddenError, admin.list, organization=fx["other_org"]["slug"])
    raises(ForbiddenError, admin.setup_info, organization=fx["other_org"]["slug"])
    raises(NotFoundError, admin.get, str(uuid.uuid4()))


def test_other_orgs_config(av, fx, other_stored):
    """Another org's config answers 403 (the spec's "no access to the
    requested storage config") and is not listed."""
    raises(ForbiddenError, av["admin"].storage_configs.get, other_stored.uid)
    raises(ForbiddenError, av["admin"].storage_configs.test, other_stored.uid)
    raises(ForbiddenError, av["admin"].storage_configs.delete, other_stored.uid)
    raises(ForbiddenError, av["admin"].storage_configs.get, other_stored.uid, organization=fx["other_org"]["slug"])
    assert other_stored.uid not in {i.uid for i in av["admin"].storage_configs.list(limit=100).items}


def test_no_redirect_without_trailing_slash(fx, stored):
    """httpx follows no redirect, so the documented paths must answer
    themselves, with or without their trailing slash."""
    c = stored.get(fx["configs"][0]["label"])
    headers = {"X-Avala-Api-Key": fx["keys"]["admin"], "Accept": "application/json"}
    with httpx.Client(base_url=fx["base_url"], headers=headers, follow_redirects=False) as h:
        for path in ("/api/v1/storage-configs", f"/api/v1/storage-configs/{c.uid}"):
            r = h.get(path)
            support.RECORDER.add(r.text)
            assert r.is_success, f"GET {path}: {r.status_code} {r.headers.get('location', '')}"
            assert r.json()
