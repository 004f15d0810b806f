"""GET version/: the dashboard's answer, plus what Glance's version discovery reports."""

import pytest


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


def answered_in_place(client, path: str) -> None:
    """``path`` without its final slash answers as with it: no redirect (the test client
    follows none; a redirect would not carry a PUT's or POST's body)."""
    response = client.get(path.rstrip("/"))
    assert response.status_code == 200, response.status_code
    assert response.json() == client.get(path).json()


def test_version_without_trailing_slash(demo_client):
    answered_in_place(demo_client, "/api/glance/version/")


def test_a_redirect_to_the_slash_fails_that_check(demo_client, settings):
    """Issue 33: the check once followed redirects, so a redirect passed it."""
    settings.ROOT_URLCONF = "tests.redirecting_urls"
    with pytest.raises(AssertionError, match="301"):
        answered_in_place(demo_client, "/api/glance/version/")
