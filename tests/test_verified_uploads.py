"""Uploads checked end to end (issue 37): ``Content-Digest`` / ``Repr-Digest`` (RFC 9530) on
``PUT images/{id}/file/`` and on upload URLs, against the real dev cloud (whose Glance
keeps sha512, its default)."""

import base64
import hashlib
import os
import subprocess
from pathlib import Path

import pytest

from glance_api.dataplane import digests
from tests.helpers import IMAGES, direct_create

OCTETS = "application/octet-stream"
DATA = b"verified image bytes\n" * 500


def sha512_field(data: bytes, name: str = "sha-512") -> str:
    algo = digests.GLANCE_NAMES[name]
    return f"{name}=:{base64.b64encode(hashlib.new(algo, data).digest()).decode()}:"


def put_file(client, image_id: str, data: bytes, **headers):
    return client.put(f"{IMAGES}{image_id}/file/", data=data, content_type=OCTETS, headers=headers)


@pytest.mark.parametrize("field", ["Content-Digest", "Repr-Digest"])
def test_a_matching_digest_uploads_and_the_answer_says_what_glance_stored(
    field, admin_client, make_image, glance_admin
):
    image = make_image()
    response = put_file(admin_client, image["id"], DATA, **{field: sha512_field(DATA)})
    assert response.status_code == 200, response.content
    stored = glance_admin.images.get(image["id"])
    assert stored["status"] == "active"
    assert stored["os_hash_value"] == hashlib.sha512(DATA).hexdigest()
    assert response["Repr-Digest"] == sha512_field(DATA)
    assert response.json()["os_hash_value"] == stored["os_hash_value"]


@pytest.mark.parametrize("as_demo", [False, True], ids=["admin", "demo"])
def test_a_mismatch_is_a_400_and_the_image_is_deleted(
    as_demo, admin_client, demo_client, make_image, glance_admin, glance_demo
):
    client, glance = (demo_client, glance_demo) if as_demo else (admin_client, glance_admin)
    image = make_image(as_demo=as_demo)
    response = put_file(client, image["id"], DATA, **{"Content-Digest": sha512_field(b"other")})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "digest_mismatch"
    assert body["image_deleted"] is True
    assert "sha-512" in body["detail"] and "was deleted" in body["detail"]
    assert hashlib.sha512(DATA).hexdigest() not in body["detail"]  # base64, as the field
    assert sha512_field(DATA).split("=", 1)[1] in body["detail"]  # what Glance stored
    for someone in (glance, glance_admin):  # gone, for its owner and for the admin
        with pytest.raises(Exception) as gone:
            someone.images.get(image["id"])
        assert getattr(gone.value, "code", None) == 404


def test_a_protected_image_with_a_mismatch_is_deleted_too(admin_client, make_image, glance_admin):
    image = make_image(protected=True)
    response = put_file(admin_client, image["id"], DATA, **{"Repr-Digest": sha512_field(b"x")})
    assert response.status_code == 400 and response.json()["image_deleted"] is True
    with pytest.raises(Exception) as gone:
        glance_admin.images.get(image["id"])
    assert getattr(gone.value, "code", None) == 404


REFUSED = [
    # (field value, code, what the message names)
    (
        "sha-256=:" + base64.b64encode(hashlib.sha256(DATA).digest()).decode() + ":",
        "unsupported_digest",
        "uses sha-256",
    ),
    (
        "md5=:" + base64.b64encode(hashlib.md5(DATA).digest()).decode() + ":",
        "unsupported_digest",
        "uses md5",
    ),
    ("sha-512=" + hashlib.sha512(DATA).hexdigest(), "invalid_digest", "malformed"),
    ("sha-512=:not base64!:", "invalid_digest", "malformed"),
    ("sha-512=:" + base64.b64encode(b"short").decode() + ":", "invalid_digest", "not 64"),
    ("", "invalid_digest", "malformed"),
    (
        "sha-512=:" + base64.b64encode(hashlib.sha512(DATA).digest()).decode() + ":,",
        "invalid_digest",
        "malformed",
    ),
    (
        "SHA-512=:" + base64.b64encode(hashlib.sha512(DATA).digest()).decode() + ":",
        "invalid_digest",
        "malformed",
    ),
]


@pytest.mark.parametrize("value,code,named", REFUSED)
def test_a_digest_the_api_cannot_check_is_a_400_before_any_byte_and_the_image_stays_queued(
    value, code, named, admin_client, make_image, glance_admin, glance_log
):
    image = make_image()
    response = put_file(admin_client, image["id"], DATA, **{"Content-Digest": value})
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == code and named in body["detail"]
    assert "sha-512" in body["detail"]  # what is supported
    assert glance_admin.images.get(image["id"])["status"] == "queued"
    assert glance_log.count(f"PUT /v2/images/{image['id']}/file", 0, timeout=0.5) == 0


def test_the_two_fields_must_agree(admin_client, make_image, glance_admin):
    image = make_image()
    response = put_file(
        admin_client,
        image["id"],
        DATA,
        **{"Content-Digest": sha512_field(DATA), "Repr-Digest": sha512_field(b"x")},
    )
    assert response.status_code == 400 and "disagree" in response.json()["detail"]
    assert glance_admin.images.get(image["id"])["status"] == "queued"


def test_an_upload_url_checks_the_digest_and_a_refused_field_leaves_it_usable(
    demo_client, anon_client, glance_demo, cleanup_images
):
    created = demo_client.post(IMAGES, direct_create("digest-direct"), format="json").json()
    cleanup_images.append(created["id"])
    upload_url = created["upload_url"].split("testserver", 1)[1]
    refused = anon_client.put(
        upload_url, data=DATA, content_type=OCTETS, headers={"Content-Digest": "sha-512=x"}
    )
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_digest"
    ok = anon_client.put(
        upload_url, data=DATA, content_type=OCTETS, headers={"Content-Digest": sha512_field(DATA)}
    )
    assert ok.status_code == 200, ok.content
    assert ok["Repr-Digest"] == sha512_field(DATA)
    assert glance_demo.images.get(created["id"])["status"] == "active"


def test_an_upload_url_with_a_mismatch_deletes_the_image(demo_client, anon_client, glance_demo):
    created = demo_client.post(IMAGES, direct_create("digest-direct-bad"), format="json").json()
    upload_url = created["upload_url"].split("testserver", 1)[1]
    response = anon_client.put(
        upload_url, data=DATA, content_type=OCTETS, headers={"Repr-Digest": sha512_field(b"no")}
    )
    assert response.status_code == 400 and response.json()["code"] == "digest_mismatch"
    with pytest.raises(Exception) as gone:
        glance_demo.images.get(created["id"])
    assert getattr(gone.value, "code", None) == 404


def test_without_a_digest_an_upload_makes_no_extra_call(admin_client, make_image, glance_log):
    image = make_image()
    response = put_file(admin_client, image["id"], DATA)
    assert response.status_code == 200
    assert response["Repr-Digest"] == sha512_field(DATA)
    assert glance_log.count("GET /v2/images?", 0, timeout=0.5) == 0


# --- the parts, on their own -----------------------------------------------------------


def test_an_endpoint_that_keeps_sha256_is_checked_in_sha256_and_sha512():
    assert digests.supported("sha256") == ["sha-512", "sha-256"]
    assert digests.supported("sha512") == ["sha-512"]
    wanted = digests.parse({"Content-Digest": sha512_field(DATA, "sha-256")}, "sha256")
    image = {"os_hash_algo": "sha256", "os_hash_value": hashlib.sha256(DATA).hexdigest()}
    assert digests.mismatched(wanted, image, {}) == []
    wanted = digests.parse({"Repr-Digest": sha512_field(DATA)}, "sha256")
    assert digests.mismatched(wanted, image, {"sha512": hashlib.sha512(DATA).digest()}) == []
    assert digests.mismatched(wanted, image, {"sha512": hashlib.sha512(b"x").digest()}) == [
        "sha-512"
    ]


def _documented_commands() -> str:
    """The first console block of docs/verified-uploads.md, as a shell script."""
    text = (Path(__file__).resolve().parent.parent / "docs" / "verified-uploads.md").read_text()
    block = text.split("```console\n", 1)[1].split("```", 1)[0]
    commands, current = [], ""
    for line in block.splitlines():
        if line.startswith("$ "):
            current = line[2:]
        elif current and line.startswith("    "):
            current += "\n" + line
        else:
            continue
        if not current.endswith("\\"):
            commands.append(current)
            current = ""
    return "\n".join(commands)


def test_the_documented_curl_line_uploads_verified(live_server, admin_token, make_image, tmp_path):
    image = make_image()
    (tmp_path / "disk.img").write_bytes(DATA)
    script = _documented_commands().replace("http://127.0.0.1:8000", live_server.url)
    assert "curl" in script and "Content-Digest" in script
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        env={**os.environ, "OS_TOKEN": admin_token, "IMAGE_ID": image["id"]},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert "HTTP/1.1 200 OK" in done.stdout  # (after curl's "100 Continue")
    assert f"Repr-Digest: {sha512_field(DATA)}" in done.stdout


# --- a Glance that keeps SHA-256 -------------------------------------------------------


@pytest.fixture(scope="module")
def sha256_glance(clouds):
    """A second Glance of the dev cloud with ``hashing_algorithm = sha256`` (its own
    database and stores, the same Keystone): devcloud.variant."""
    from devcloud.variant import glance_variant

    with glance_variant("sha256", {"hashing_algorithm": "sha256"}) as url:
        yield url


@pytest.fixture
def on_sha256_glance(app_settings, sha256_glance):
    app_settings.GLANCE_API = {**app_settings.GLANCE_API, "GLANCE_URL": sha256_glance}
    return sha256_glance


def test_where_glance_keeps_sha256_both_digests_are_checked(
    on_sha256_glance, admin_client, admin_token
):
    """sha-256 is compared with Glance's own os_hash_value; sha-512 with the hash the app
    computed as it passed the bytes on; before any image of the endpoint tells its
    algorithm, sha-512 is checked by the app's hash (not Glance's sha256)."""
    created = []

    def image():
        answer = admin_client.post(IMAGES, direct_create("sha256-glance"), format="json")
        assert answer.status_code == 201, answer.content
        created.append(answer.json()["id"])
        return created[-1]

    try:
        # sha-512, whatever the endpoint keeps (the app hashes while it does not know)
        first = put_file(admin_client, image(), DATA, **{"Content-Digest": sha512_field(DATA)})
        assert first.status_code == 200, first.content
        assert first.json()["os_hash_algo"] == "sha256"
        sha256 = sha512_field(DATA, "sha-256")
        assert first["Repr-Digest"] == sha256  # what Glance stored: its algorithm
        # the endpoint's own algorithm, accepted now that it is known
        second = put_file(admin_client, image(), DATA, **{"Repr-Digest": sha256})
        assert second.status_code == 200, second.content
        # and a wrong one of either is a mismatch, the image deleted
        for field in (sha512_field(b"x", "sha-256"), sha512_field(b"x")):
            wrong = put_file(admin_client, image(), DATA, **{"Content-Digest": field})
            assert wrong.status_code == 400 and wrong.json()["code"] == "digest_mismatch"
            assert wrong.json()["image_deleted"] is True
        # md5 is not taken here either: the message names both
        refused = put_file(admin_client, image(), DATA, **{"Content-Digest": "md5=:AAAA:"})
        assert refused.status_code == 400
        assert "supported: sha-512, sha-256" in refused.json()["detail"]
    finally:
        for image_id in created:
            admin_client.delete(f"{IMAGES}{image_id}/")
