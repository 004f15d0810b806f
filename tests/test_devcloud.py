"""The dev cloud's own commands: idempotent up, status, clouds.yaml, stop by recorded pid."""

import os
import random
import socket
import subprocess
import sys
import time
from pathlib import Path

import yaml

from devcloud import cloud
from devcloud import config as devcloud
from devcloud.ports import ephemeral_ports, free_port


def run_devcloud(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "devcloud", *args],
        capture_output=True,
        text=True,
        cwd=devcloud.ROOT,
        timeout=300,
    )


def test_up_again_reuses_the_running_servers(clouds):
    before = {name: s["pid"] for name, s in cloud.status().items()}
    started = time.monotonic()
    result = run_devcloud("up")
    assert result.returncode == 0, result.stderr
    assert "already running" in result.stderr
    assert time.monotonic() - started < 10
    assert {name: s["pid"] for name, s in cloud.status().items()} == before


def test_status_reports_every_server(clouds):
    result = run_devcloud("status")
    assert result.returncode == 0
    report = yaml.safe_load(result.stdout)
    assert set(report) == {"keystone", "glance", "postgres"}
    assert all(server["answers"] and server["pid"] for server in report.values())


def test_clouds_yaml_has_admin_demo_and_bench(clouds):
    on_disk = yaml.safe_load(devcloud.CLOUDS_YAML.read_text())["clouds"]
    assert set(on_disk) == {"devcloud-admin", "devcloud-demo", "devcloud-bench"}
    assert on_disk["devcloud-bench"]["auth"]["project_name"] == "bench"
    demo = on_disk["devcloud-demo"]
    assert demo["auth"]["auth_url"] == devcloud.KEYSTONE_URL
    assert demo["auth"]["username"] == "demo"
    assert demo["region_name"] == "RegionOne"
    assert demo["identity_api_version"] == 3


def test_demo_account_has_member_and_reader_roles(demo_session):
    access = demo_session.auth.get_access(demo_session)
    assert access.project_name == "demo"
    assert {"member", "reader"} <= set(access.role_names)
    assert "admin" not in access.role_names


def test_server_stop_ends_exactly_what_it_started(clouds):
    """A second Keystone on a spare port: started, recognised by pid, stopped with its workers."""
    keystone, _ = cloud.servers()
    probe = cloud.Server("keystone-probe", keystone.app, free_port(), 2, keystone.env)
    probe.start()
    try:
        probe.wait()
        pid = probe.pid()
        assert pid is not None
        workers = [
            int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        ]
        assert len(workers) == 2
    finally:
        assert probe.stop()
    for process in (pid, *workers):
        assert not Path(f"/proc/{process}").exists() or _is_zombie(process)
    assert not probe.pid_file.exists()
    assert not probe.stop()  # nothing left to stop
    assert all(server["answers"] for server in cloud.status().values())  # the cloud is untouched


def _is_zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
    except OSError:
        return True


def test_pid_file_of_a_foreign_process_is_not_ours(tmp_path, clouds):
    keystone, _ = cloud.servers()
    impostor = cloud.Server("impostor", keystone.app, free_port(), 1, {})
    impostor.pid_file.write_text(str(os.getpid()))  # this test process, not a server
    try:
        assert impostor.pid() is None
        assert not impostor.stop()  # and it is left alone
    finally:
        impostor.pid_file.unlink(missing_ok=True)


def test_postgres_takes_a_free_port_where_its_own_is_taken(tmp_path):
    """As in a CI run after a session whose PostgreSQL (running as ``postgres``) outlived
    it: the port is taken when the cluster first starts, so it takes another and keeps it;
    with DEVCLOUD_POSTGRES_PORT set, it says which port is taken instead. Here a second
    checkout's dev cloud (another DEVCLOUD_HOME) meets this one's PostgreSQL, or, where
    that is not running, a server of the test's own on its port."""
    from devcloud import ports

    own = devcloud.POSTGRES_PORT  # this release's default, which the second one wants too
    holder = None if ports.taken(own) else socket.create_server(("127.0.0.1", own))
    env = {k: v for k, v in os.environ.items() if k != "DEVCLOUD_POSTGRES_PORT"}
    env["DEVCLOUD_HOME"] = str(tmp_path / "second")
    script = (
        "from devcloud import postgres; chosen = postgres._choose_port(print); "
        "print(chosen, postgres.port(), postgres.url('keystone'), postgres._port_file())"
    )

    def choose(**more: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-c", script],
            env={**env, **more},
            cwd=devcloud.ROOT,
            capture_output=True,
            text=True,
            timeout=60,
        )

    try:
        result = choose()
        assert result.returncode == 0, result.stderr
        said, figures = result.stdout.splitlines()
        chosen, kept, url, port_file = figures.split()
        assert int(chosen) != own and int(chosen) not in ports.ephemeral_ports()
        assert f"127.0.0.1:{own} is taken" in said and chosen in said
        assert kept == chosen and f":{chosen}/keystone" in url  # kept
        # in the second checkout's state (that of its release, as this one's)
        assert Path(port_file).is_relative_to(tmp_path / "second")
        assert Path(port_file).read_text() == chosen

        Path(port_file).unlink()
        refused = choose(DEVCLOUD_POSTGRES_PORT=str(own))
        assert refused.returncode != 0  # a taken port that was asked for is an error
        assert f"127.0.0.1:{own} is taken" in refused.stderr
        assert "set DEVCLOUD_POSTGRES_PORT to a free port" in refused.stderr
    finally:
        if holder is not None:
            holder.close()
    free = str(free_port())
    result = choose(DEVCLOUD_POSTGRES_PORT=free)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[:3] == [
        free,
        free,
        f"postgresql+psycopg2://postgres@127.0.0.1:{free}/keystone",
    ]


def _ports_of(release: str) -> list[int]:
    """The dev cloud's and the stack's default ports, as ``release``'s dev cloud takes them."""
    env = {k: v for k, v in os.environ.items() if not k.endswith("_PORT")}
    script = (
        "from devcloud import config as c; from deploy import stack as s; "
        "print(c.KEYSTONE_PORT, c.GLANCE_PORT, c.HORIZON_PORT, c.HORIZON_DIRECT_PORT, "
        "c.HORIZON_OWN_PORT, "
        "c.POSTGRES_PORT, c.MEMCACHED_PORT, s.NGINX_PORT, s.REDIS_PORT, s.FIRST_APP_PORT + 1)"
    )
    printed = subprocess.run(
        [sys.executable, "-c", script],
        env={**env, "DEVCLOUD_RELEASE": release},
        cwd=devcloud.ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return [int(number) for number in printed.split()]


def test_no_server_listens_where_outgoing_connections_take_their_ports():
    """A server's port inside the kernel's range for outgoing connections can be a
    connection's local port when the server (re)starts: PostgreSQL then cannot bind it
    (as 2024.1's did on 55442 in a CI run), and nothing listens there to say so."""
    ephemeral = ephemeral_ports()
    for release in devcloud.RELEASES:
        inside = [number for number in _ports_of(release) if number in ephemeral]
        assert not inside, f"{release}: {inside} in {ephemeral}"
    # nor do the tests', the benchmarks' and a fresh clone's servers
    handed_out = [free_port() for _ in range(20)]
    assert len(set(handed_out)) == 20
    assert not [number for number in handed_out if number in ephemeral]


def _bound_below_the_ephemeral_range() -> socket.socket:
    first = ephemeral_ports().start
    for port in random.sample(range(max(1024, first - 12000), first), 200):
        sock = socket.socket()
        try:
            sock.bind(("127.0.0.1", port))
            return sock
        except OSError:
            sock.close()
    raise AssertionError("no free port below the ephemeral range")


def test_postgres_waits_for_a_connection_that_holds_its_port(tmp_path):
    """Where a connection's local port is PostgreSQL's (as a port inside the ephemeral range
    can be), pg_ctl fails with "Address already in use" though nothing listens: the start
    is tried again until the port is free, and then succeeds."""
    peer = socket.create_server(("127.0.0.1", 0))
    # The connection's local port is chosen below the ephemeral range: once it closes,
    # no other connection of this busy machine (make test's other lane) can take it as
    # its own local port before PostgreSQL binds it (one did, in CI: the start gave up).
    holder = _bound_below_the_ephemeral_range()
    holder.connect(peer.getsockname())
    accepted, _ = peer.accept()
    held = holder.getsockname()[1]
    env = {
        **os.environ,
        "DEVCLOUD_HOME": str(tmp_path / "cloud"),
        "DEVCLOUD_POSTGRES_PORT": str(held),
    }
    command = [sys.executable, "-c", "from devcloud import postgres; postgres.start(print)"]
    starting = subprocess.Popen(
        command, env=env, cwd=devcloud.ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        time.sleep(8)  # initdb, then the first start fails
        accepted.close()  # this side first: the TIME_WAIT is the peer's
        holder.close()
        output = starting.communicate(timeout=90)[0].decode()
        assert starting.returncode == 0, output
        assert f"127.0.0.1:{held} is held by a connection: trying again" in output
        with socket.create_connection(("127.0.0.1", held), timeout=5):
            pass  # PostgreSQL listens there now
    finally:
        starting.kill()
        peer.close()
        stop = "from devcloud import postgres; postgres.stop(print); postgres.drop()"
        subprocess.run([sys.executable, "-c", stop], env=env, cwd=devcloud.ROOT, timeout=60)


def test_postgres_running_on_another_port_is_restarted_on_its_own(tmp_path):
    """A dev cloud whose PostgreSQL was started on another port (the old default, say) is
    restarted on the port the configuration now names, which Keystone and Glance use."""
    env = {**os.environ, "DEVCLOUD_HOME": str(tmp_path / "cloud")}
    first = second = free_port()
    while second == first:
        second = free_port()

    def start_on(number: int) -> str:
        command = [sys.executable, "-c", "from devcloud import postgres; postgres.start(print)"]
        result = subprocess.run(
            command,
            env={**env, "DEVCLOUD_POSTGRES_PORT": str(number)},
            cwd=devcloud.ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        return result.stdout

    try:
        start_on(first)
        said = start_on(second)
        assert f"PostgreSQL runs on port {first}, not {second}: restarting it" in said
        with socket.create_connection(("127.0.0.1", second), timeout=5):
            pass
        with socket.socket() as old:
            assert old.connect_ex(("127.0.0.1", first)) != 0
    finally:
        stop = "from devcloud import postgres; postgres.stop(print); postgres.drop()"
        subprocess.run([sys.executable, "-c", stop], env=env, cwd=devcloud.ROOT, timeout=60)


def test_keystone_has_its_policy_rules_before_its_first_request(clouds):
    """Keystone makes its policy enforcer at its first request and publishes it before it
    registers the rules: under the dev cloud's threads, a request in that moment was
    refused 403 (a token validating itself, in make chaos's Keystone restart). The race
    cannot be made to happen at will; what closes it can be seen: the dev cloud's
    application, once loaded as a worker loads it, holds the enforcer with its rules."""
    keystone, _ = cloud.servers()
    check = (
        "import devcloud.keystone_wsgi\n"
        "from keystone.common.rbac_enforcer.enforcer import RBACEnforcer\n"
        "made = RBACEnforcer()._RBACEnforcer__ENFORCER\n"
        "print(made is not None and 'identity:validate_token' in made.rules)\n"
    )
    done = subprocess.run(
        [str(devcloud.VENV / "bin" / "python"), "-c", check],
        env={**os.environ, **keystone.env, "PYTHONPATH": str(devcloud.ROOT)},
        cwd=devcloud.ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.stdout.strip().splitlines()[-1:] == ["True"], done.stderr[-2000:]
