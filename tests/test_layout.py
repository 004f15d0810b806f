"""The layout the docs describe (development): one place for each concern, modules of a
readable size,
and the private names of glanceclient and keystoneauth that the app relies on."""

import ast
import io
import re
import tokenize
from pathlib import Path

import glanceclient
import pytest
from keystoneauth1 import access

from glance_api import clients, requestlog
from glance_api.keystone import validate_token

APP = Path(__file__).resolve().parent.parent / "glance_api"
MAX_LINES = 400


def modules():
    return sorted(p for p in APP.rglob("*.py") if "migrations" not in p.parts)


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            names |= {f"{node.module}.{alias.name}" for alias in node.names} | {node.module}
    return names


def test_every_module_is_under_400_lines():
    long = {
        str(p.relative_to(APP)): n
        for p in modules()
        if (n := len(p.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}


def test_only_the_error_map_imports_the_clients_errors():
    translating = {
        str(p.relative_to(APP))
        for p in modules()
        if imported(p) & {"glanceclient.exc", "keystoneauth1.exceptions"}
    }
    assert translating == {"exceptions.py"}


# What reaches past glanceclient's public API: clients/ holds every such place.
INTERNALS = ("glanceclient", "keystoneauth1.adapter", "warlock")


def reaches_into_clients(path: Path) -> set[str]:
    """What of INTERNALS ``path`` imports, and whether it uses a glanceclient's
    ``http_client`` (its HTTP client, under the managers)."""
    found = {
        name
        for name in imported(path)
        if any(name == i or name.startswith(i + ".") for i in INTERNALS)
    }
    tree = ast.parse(path.read_text())
    if any(isinstance(n, ast.Attribute) and n.attr == "http_client" for n in ast.walk(tree)):
        found.add("http_client")
    return found


def test_every_reach_into_glanceclient_is_in_the_client_factory():
    users = {str(p.relative_to(APP)): r for p in modules() if (r := reaches_into_clients(p))}
    assert all(path.startswith("clients/") or path == "exceptions.py" for path in users), users
    assert users["exceptions.py"] == {"glanceclient", "glanceclient.exc"}


@pytest.mark.parametrize(
    "source",
    [
        "from keystoneauth1 import adapter\n",
        "import warlock\n",
        "from glanceclient.v2 import schemas\n",
        "def f(glance):\n    return glance.http_client.get('/v2/x')\n",
    ],
)
def test_the_layout_rule_sees_each_kind_of_reach(tmp_path, source):
    module = tmp_path / "services.py"
    module.write_text(source)
    assert reaches_into_clients(module)


def test_the_private_names_the_client_factory_relies_on(admin_token):
    """Fails when a new glanceclient, keystoneauth or urllib3 renames what clients/ reaches
    into."""
    from urllib3.connectionpool import HTTPConnectionPool

    assert callable(HTTPConnectionPool._get_conn) and callable(HTTPConnectionPool._put_conn)
    access_info = validate_token(admin_token)
    body = clients.access_body(access_info)
    assert body["token"]["user"]["id"] == access_info.user_id
    again = clients.access_from_body(body, admin_token)
    assert isinstance(again, access.AccessInfoV3) and again.project_id == access_info.project_id

    glance = clients.client_for(access_info)
    assert isinstance(glance, glanceclient.v2.client.Client)
    assert clients.client_for(access_info) is glance  # kept for the token
    # the images manager builds its models from the schema the process keeps: had
    # glanceclient renamed schema_client, it would fetch the schema itself
    clients.forget_image_schemas()
    schema = clients.image_schema(glance)
    assert "disk_format" in schema["properties"]
    assert glance.images.model.__name__ == schema["name"]
    assert isinstance(glance.images.schema_client, clients._CachedSchemas)


def test_the_image_schema_is_fetched_once_whatever_the_clients_and_calls(
    admin_token, demo_token, glance_log
):
    """Issue 27: it was primed by four services calling image_schema() for its side
    effect; now each client's images manager asks the process's cache for it."""
    clients.forget_image_schemas()
    clients.forget_kept()
    # Only this test's calls count (Glance's log names the global request id): another
    # process on the same dev cloud (the fresh-clone test's server, a background refresh)
    # may fetch the schema in the same moment, which made this test flaky in CI.
    context = requestlog.RequestContext(requestlog.new_request_id())
    reset = requestlog.current.set(context)
    try:
        for token in (admin_token, demo_token):
            glance = clients.client_for(validate_token(token))
            list(glance.images.list(limit=1))
            glance.images.model(name="x")
            glance.images.unvalidated_model(name="x")
    finally:
        requestlog.current.reset(reset)
    fetched = ('GET /v2/schemas/image HTTP/1.1" 200 ', f" {context.request_id}")
    assert glance_log.count(fetched, 1) == 1


def test_the_dev_cloud_has_no_import_cycle():
    """Issue 27: devcloud/cloud.py and devcloud/horizon.py imported each other (one of
    them inside a function, to get by)."""
    package = APP.parent / "devcloud"
    graph = {}
    for path in package.glob("*.py"):
        names = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                names |= {node.module} if node.module else {a.name for a in node.names}
        graph[path.stem] = {name for name in names if (package / f"{name}.py").exists()}

    def reaches(start: str, goal: str, seen: set) -> bool:
        return any(
            n == goal or (n not in seen and reaches(n, goal, seen | {n}))
            for n in graph.get(start, ())
        )

    assert [module for module in graph if reaches(module, module, set())] == []


def test_the_parsers_neither_import_the_services_nor_look_up_the_view():
    """Issue 27: the multipart create's parser imported services and asked the view for
    start_multipart_upload; it now gets what it needs in the parser context."""
    source = (APP / "parsers.py").read_text()
    tree = ast.parse(source)
    relative = {
        node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.level
    }
    assert "services" not in relative
    assert uses_of_the_view(tree) == []


def uses_of_the_view(tree: ast.AST) -> list[str]:
    """Where code reaches the view, which is in DRF's parser context as "view": any name,
    key or attribute of that name."""
    return [
        ast.unparse(node)
        for node in ast.walk(tree)
        if (isinstance(node, ast.Name) and node.id == "view")
        or (isinstance(node, ast.Constant) and node.value == "view")
        or (isinstance(node, ast.Attribute) and node.attr == "view")
    ]


@pytest.mark.parametrize(
    "source",
    [
        "def parse(self, stream, media_type, parser_context):\n"
        "    return parser_context['view'].start_multipart_upload\n",
        "def parse(self, stream, media_type, parser_context):\n"
        "    view = parser_context.get('view')\n",
        "def parse(self, stream, media_type, parser_context):\n"
        "    return getattr(parser_context['request'].parser_context, 'view', None)\n",
        "def parse(self, stream, media_type, parser_context):\n    return self.request.view\n",
    ],
)
def test_the_parser_rule_sees_each_way_to_the_view(source):
    """The rule once looked for getattr(view, ...) only (issue 33)."""
    assert uses_of_the_view(ast.parse(source))


@pytest.mark.parametrize(
    "marker, home",
    [
        # the format inspector: whether and how an upload is checked, and its fallback
        ("format_inspector", "services/inspection.py"),
        # where a chunked body's bytes are: the server's own input
        ("wsgi.input_terminated", "draining.py"),
        # a Glance answer told by its words
        ("Caching via API is not supported", "exceptions.py"),
        ("from the only store containing", "exceptions.py"),
    ],
)
def test_each_decision_has_one_home(marker, home):
    """docs/development.md, "One home for each decision": where the code (not a comment
    or docstring) names it."""
    named = re.compile(rf"(?<!\w){re.escape(marker)}(?!\w)")
    homes = {str(p.relative_to(APP)) for p in modules() if named.search(code_of(p))}
    assert homes == {home}


def code_of(path: Path) -> str:
    """The names and strings of ``path``'s code, without its comments and docstrings."""
    source = path.read_text()
    docstrings = {
        node.body[0].value.lineno
        for node in ast.walk(ast.parse(source))
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
        and isinstance(node.body[0].value.value, str)
    }
    kept = [
        token.string
        for token in tokenize.generate_tokens(io.StringIO(source).readline)
        if token.type == tokenize.NAME
        or (token.type == tokenize.STRING and token.start[0] not in docstrings)
    ]
    return " ".join(kept)


def test_code_of_leaves_out_comments_and_docstrings(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""the marker"""\n# the marker\nx = "the marker"  # here\n')
    assert code_of(module).count("marker") == 1
