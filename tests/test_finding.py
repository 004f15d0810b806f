"""Finding images by part of their name (issue 36): ``GET images/?q=`` against the dev
cloud's real Glance, which matches names only whole. Each test's images carry a mark
of their own (a custom property, a filter of the list), so other tests' images do not
count, and the filter itself is one the search combines with."""

import uuid

import pytest

from tests.helpers import IMAGES

NAMES = [
    "KÄSTREL-noble",  # found by "kästrel": Unicode case folding
    "kästrel-jammy",
    "Kestrel 24.04",
    "falcon-kästrel",
    "100%_kästrel*",  # % _ * are text, not wildcards
    "kästrel.[x]",  # as are a regex's . [ ]
    "merlin",
]


@pytest.fixture
def catalog(make_image):
    """``NAMES`` as demo's images, under a mark of their own: (mark, name -> id)."""
    mark = uuid.uuid4().hex[:10]
    ids = {}
    for i, name in enumerate(NAMES):
        image = make_image(
            as_demo=True,
            name=name,
            finding_run=mark,
            disk_format="qcow2" if i % 2 else "raw",
            min_ram=i,
        )
        ids[name] = image["id"]
    return mark, ids


def search(client, mark: str, **query) -> dict:
    answer = client.get(IMAGES, {"finding_run": mark, **query})
    assert answer.status_code == 200, answer.content
    return answer.json()


def names(answer: dict) -> list[str]:
    return [item["name"] for item in answer["items"]]


def glances_order(client, mark: str, text: str, **query) -> list[str]:
    """The names the list without q gives (Glance's filter and sort), those that contain
    ``text`` kept: what the search must answer."""
    return [n for n in names(search(client, mark, **query)) if text.casefold() in n.casefold()]


def test_q_finds_part_of_a_name_with_unicode_case_folding(demo_client, catalog):
    mark, _ = catalog
    found = search(demo_client, mark, q="kästrel", sort_key="name", sort_dir="asc")
    assert sorted(names(found)) == sorted(
        ["KÄSTREL-noble", "kästrel-jammy", "falcon-kästrel", "100%_kästrel*", "kästrel.[x]"]
    )
    assert names(found) == glances_order(
        demo_client, mark, "kästrel", sort_key="name", sort_dir="asc"
    )
    assert found["search"] == {"images_searched": len(NAMES), "complete": True}
    assert names(search(demo_client, mark, q="KESTREL")) == ["Kestrel 24.04"]
    # a decomposed "ä" (a, then the combining diaeresis) is the same text
    assert len(search(demo_client, mark, q="ka\u0308strel")["items"]) == 5


@pytest.mark.parametrize(
    "text, expected",
    [
        ("%", ["100%_kästrel*"]),
        ("_", ["100%_kästrel*"]),
        ("*", ["100%_kästrel*"]),
        ("%_k", ["100%_kästrel*"]),
        (".[", ["kästrel.[x]"]),
        ("[x]", ["kästrel.[x]"]),
        ("k.strel", []),
        ("k_strel", []),
        ("k%strel", []),
        ("^merlin$", []),
    ],
)
def test_q_is_taken_literally(demo_client, catalog, text, expected):
    mark, _ = catalog
    assert names(search(demo_client, mark, q=text)) == expected


def test_q_combines_with_filters_and_sorts(demo_client, catalog):
    mark, _ = catalog
    raw = search(demo_client, mark, q="kästrel", disk_format="raw", sort_key="name")
    # raw: the even positions of NAMES; sort_dir desc (the default) by name, as Glance sorts
    assert sorted(names(raw)) == sorted(["KÄSTREL-noble", "100%_kästrel*"])
    assert names(raw) == glances_order(
        demo_client, mark, "kästrel", disk_format="raw", sort_key="name"
    )
    by_name = search(demo_client, mark, q="KÄSTREL", sort_key="name", sort_dir="asc")
    assert names(by_name) == glances_order(
        demo_client, mark, "kästrel", sort_key="name", sort_dir="asc"
    )
    assert (
        names(by_name)
        == names(search(demo_client, mark, q="kästrel", sort_key="name", sort_dir="desc"))[::-1]
    )


def test_paging_is_that_of_the_filtered_list(demo_client, catalog):
    """Two at a time through the five matches, forward, then back, as the dashboard
    pages: every page, has_more_data and has_prev_data as a list of just the matches
    would give them."""
    mark, _ = catalog
    query = {"q": "kästrel", "sort_key": "name", "sort_dir": "asc", "paginate": "true"}
    order = glances_order(demo_client, mark, "kästrel", sort_key="name", sort_dir="asc")
    assert len(order) == 5
    first = search(demo_client, mark, limit=2, **query)
    assert (names(first), first["has_more_data"], first["has_prev_data"]) == (
        order[:2],
        True,
        False,
    )
    second = search(demo_client, mark, limit=2, marker=first["items"][-1]["id"], **query)
    assert (names(second), second["has_more_data"], second["has_prev_data"]) == (
        order[2:4],
        True,
        True,
    )
    third = search(demo_client, mark, limit=2, marker=second["items"][-1]["id"], **query)
    assert (names(third), third["has_more_data"], third["has_prev_data"]) == (
        order[4:],
        False,
        True,
    )
    back = search(
        demo_client,
        mark,
        limit=2,
        marker=third["items"][0]["id"],
        reversed_order="true",
        **query,
    )
    assert (names(back), back["has_more_data"], back["has_prev_data"]) == (
        order[2:4],
        True,
        True,
    )
    # without paginate: limit caps the answer
    capped = search(demo_client, mark, q="kästrel", sort_key="name", sort_dir="asc", limit=3)
    assert names(capped) == order[:3]


def test_a_marker_that_is_no_match_is_a_400_naming_it(demo_client, catalog):
    mark, ids = catalog
    answer = demo_client.get(
        IMAGES, {"finding_run": mark, "q": "kästrel", "marker": ids["merlin"], "paginate": "true"}
    )
    assert answer.status_code == 400
    assert "marker" in answer.json()
    too_long = demo_client.get(IMAGES, {"q": "x" * 256})
    assert too_long.status_code == 400 and "q" in too_long.json()


def test_a_user_finds_only_what_glance_lets_them_list(
    demo_client, admin_client, make_image, catalog
):
    mark, _ = catalog
    hidden = make_image(name="kästrel-admins-own", finding_run=mark, visibility="private")
    assert "kästrel-admins-own" not in names(search(demo_client, mark, q="kästrel"))
    # the admin's project lists it (and demo's private images only where Glance shows them)
    assert "kästrel-admins-own" in names(search(admin_client, mark, q="admins-own"))
    assert hidden["id"] in [i["id"] for i in search(admin_client, mark, q="ADMINS")["items"]]


def test_the_names_are_read_once_for_the_next_page_and_the_next_search(
    demo_client, catalog, glance_log
):
    """The first search reads the list's names (one Glance call: 7 images); the next
    page, the same search again and a narrower one read none (the index is kept,
    SEARCH_CACHE_SECONDS): each reads its page's images, by id, in one call."""
    mark, _ = catalog
    query = {"sort_key": "name", "sort_dir": "asc", "paginate": "true", "limit": 2}
    glance_log.mark()
    first = search(demo_client, mark, q="kästrel", **query)
    assert glance_log.count(f"finding_run={mark}", 1) == 1
    assert glance_log.count("id=in%3A", 1) == 1
    glance_log.mark()
    search(demo_client, mark, q="kästrel", marker=first["items"][-1]["id"], **query)
    search(demo_client, mark, q="kästrel", **query)
    search(demo_client, mark, q="kästrel-", **query)
    assert glance_log.count(f"finding_run={mark}", 0) == 0
    assert glance_log.count("id=in%3A", 3) == 3


def test_past_search_max_images_the_answer_says_it_searched_part(demo_client, catalog, settings):
    mark, _ = catalog
    settings.GLANCE_API = {**settings.GLANCE_API, "SEARCH_MAX_IMAGES": 3}
    first_three = names(search(demo_client, mark, sort_key="name", sort_dir="asc"))[:3]
    found = search(demo_client, mark, q="e", sort_key="name", sort_dir="asc")
    assert found["search"] == {"images_searched": 3, "complete": False}
    assert names(found) == [n for n in first_three if "e" in n.casefold()]


def test_the_name_filter_is_whole_names_unless_the_setting_says(demo_client, catalog, settings):
    mark, _ = catalog
    assert names(search(demo_client, mark, name="kästrel")) == []
    assert names(search(demo_client, mark, name="merlin")) == ["merlin"]
    settings.GLANCE_API = {**settings.GLANCE_API, "NAME_FILTER_MATCHES_PART": True}
    assert len(search(demo_client, mark, name="kästrel")["items"]) == 5
    # in: stays Glance's filter of whole names
    both = search(demo_client, mark, name="in:merlin,kästrel-jammy", sort_key="name")
    assert names(both) == ["merlin", "kästrel-jammy"]


def test_without_q_the_answer_is_the_list_as_before(demo_client, catalog):
    mark, _ = catalog
    plain = search(demo_client, mark)
    assert "search" not in plain and len(plain["items"]) == len(NAMES)
    assert "search" not in search(demo_client, mark, q="")


def test_searches_at_once_on_a_cold_list_read_the_names_once(demo_token, catalog, glance_log):
    """Thirty callers search the same cold list at once, then thirty more with another
    text: the names are read once in all (the cache's single-flight fill)."""
    from tests.test_single_flight import together

    mark, _ = catalog
    glance_log.mark()
    statuses = [
        status
        for text in ("kä", "kästrel")
        for status in together(demo_token, IMAGES, {"finding_run": mark, "q": text})
    ]
    assert statuses == [200] * len(statuses)
    assert glance_log.count(f"finding_run={mark}", 1) == 1
