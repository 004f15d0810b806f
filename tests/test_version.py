"""GET version/: the dashboard's answer, plus what Glance's version discovery reports."""


def test_version_matches_glance_discovery(demo_client, glance_demo):
    body = demo_client.get("/api/glance/version/").json()
    discovered = {v["id"].lstrip("v"): v["status"] for v in glance_demo.versions.list()}
    assert body["version"] == "2"
    assert discovered[body["current"]] == "CURRENT"
    assert set(body["supported"]) == {
        version for version, status in discovered.items() if status in ("CURRENT", "SUPPORTED")
    }
    as_numbers = [tuple(map(int, v.split("."))) for v in body["supported"]]
    assert as_numbers == sorted(as_numbers, reverse=True)


def test_version_without_trailing_slash(demo_client):
    """Answered in place: no redirect (a redirect would not carry a PUT's or POST's body)."""
    response = demo_client.get("/api/glance/version")
    assert response.status_code == 200
    assert response.json() == demo_client.get("/api/glance/version/").json()
