"""Discovery (version, info, schemas) against the real dev cloud."""


def test_discovery(admin_client, demo_client, glance_demo):
    methods = admin_client.get("/api/glance/info/import/").json()["import-methods"]["value"]
    assert {"glance-direct", "web-download", "copy-image"} <= set(methods)
    admin_stores = admin_client.get("/api/glance/info/stores/").json()["stores"]
    assert {s["id"] for s in admin_stores} >= {"fs", "fs2"}
    assert {s["type"] for s in admin_stores if s["id"] == "fs"} == {"file"}
    demo_stores = demo_client.get("/api/glance/info/stores/").json()["stores"]
    assert {s["id"] for s in demo_stores} >= {"fs", "fs2"}
    usage = demo_client.get("/api/glance/info/usage/")
    # Empty unless Glance enforces Keystone's unified limits (the dev cloud does not).
    assert usage.status_code == 200 and usage.json() == {"usage": glance_demo.info.get_usage()}
    schema = demo_client.get("/api/glance/schemas/image/").json()
    assert schema["name"] == "image" and "raw" in schema["properties"]["disk_format"]["enum"]
    links = demo_client.get("/api/glance/info/").json()
    assert links["stores"].endswith("/api/glance/info/stores/")
