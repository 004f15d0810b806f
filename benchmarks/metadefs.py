"""Namespaces for a resource type: through the API, cold and warm, next to glanceclient.

    python -m benchmarks.metadefs [--samples N]

The direct figure is the same work done with python-glanceclient on a reused session,
one call after another: list the namespaces of the resource type, then get each one
with its properties prefixed for that type (what the dashboard does per request).
"""

import argparse

import requests

from devcloud import cloud

from .common import ApiServer, direct_glance, interleaved, keystone_session, print_table

RESOURCE_TYPE = "OS::Nova::Flavor"


def direct_namespaces(glance) -> list[dict]:
    names = [
        ns["namespace"]
        for ns in glance.metadefs_namespace.list(
            filters={"resource_types": [RESOURCE_TYPE]}, sort_key="namespace", sort_dir="asc"
        )
    ]
    return [
        dict(glance.metadefs_namespace.get(name, resource_type=RESOURCE_TYPE)) for name in names
    ]


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--samples", type=int, default=20)
    args = parser.parse_args(argv)
    cloud.up()
    session = keystone_session()
    glance, token = direct_glance(session), session.get_token()
    http = requests.Session()
    http.headers["X-Auth-Token"] = token
    with ApiServer() as server:
        url = f"{server.url}/api/glance/metadefs/namespaces/"

        def api():
            response = http.get(url, params={"resource_type": RESOURCE_TYPE})
            response.raise_for_status()
            assert response.json()["items"]

        expected = len(direct_namespaces(glance))
        api()
        figures = interleaved(
            {"api cold": api, "api warm": api, "direct": lambda: direct_namespaces(glance)},
            samples=args.samples,
            before=lambda name: server.clear_cache() if name == "api cold" else None,
        )
    direct = figures["direct"]
    rows = [
        {
            "figure": f"namespaces {RESOURCE_TYPE} cold",
            "api": figures["api cold"],
            "direct": direct,
            "ratio": figures["api cold"]["median"] / direct["median"],
            "target": "<= 0.5",
        },
        {
            "figure": f"namespaces {RESOURCE_TYPE} warm",
            "api": figures["api warm"],
            "direct": direct,
            "ratio": figures["api warm"]["median"] / direct["median"],
            "target": "<= 0.05",
        },
    ]
    print_table(
        rows,
        f"{expected} namespaces for {RESOURCE_TYPE}, {args.samples} samples each "
        "(ms); direct = glanceclient, sequential, reused session",
    )
    return {"rows": rows}


if __name__ == "__main__":
    main()
