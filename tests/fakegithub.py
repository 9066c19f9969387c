"""A fake GitHub on loopback, over real HTTP: enough REST API for the App, and git's smart HTTP.

Bodies are shaped from the recorded examples in tests/fixtures/github/rest (GitHub's OpenAPI
description's examples), request bodies are checked against that description, anything it
does not know is a 404, and everything asked is recorded. Repositories are bare repositories
under `root` (owner/name.git), served by `git http-backend` to holders of a valid token; a fork
(`add_fork`) takes an installation's push only to a branch whose pull request lets maintainers
edit it, as GitHub does (this fake also refuses it fetches elsewhere in a fork, which GitHub
serves to anyone when public: trunkguard never fetches from a fork).
"""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import jwt
import pygit2
import uvicorn
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from fastapi import FastAPI, Request, Response

from tests.gitrepo import BOB, GitRepo, numbered

FIXTURES = Path(__file__).parent / "fixtures" / "github" / "rest"
EXAMPLES = FIXTURES / "openapi-examples"


def app_key_pair() -> tuple[str, str]:
    """A new App private key and its public key, PEM: the App signs, the fake verifies."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


def example(name: str) -> Any:
    """Load one of the OpenAPI description's example bodies."""
    return json.loads((EXAMPLES / f"{name}.json").read_text())


def _nullable(schema: Any) -> Any:
    """Turn OpenAPI 3.0's `nullable: true` into JSON Schema's type lists."""
    if isinstance(schema, list):
        return [_nullable(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _nullable(v) for k, v in schema.items() if k != "nullable"}
    if schema.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    return out


class OpenAPI:
    """The operations of the description subset, and a validator for their request bodies."""

    def __init__(self) -> None:
        spec = json.loads((FIXTURES / "openapi-subset.json").read_text())
        self.spec = _nullable(spec)
        self.operations: list[tuple[str, re.Pattern[str], dict[str, Any]]] = []
        for template, item in spec["paths"].items():
            pattern = re.compile("^" + re.sub(r"\{[^}]+\}", r"[^/]+", template) + "$")
            for method, operation in item.items():
                if method != "parameters":
                    self.operations.append((method.upper(), pattern, operation))

    def check(self, method: str, path: str, body: Any) -> str | None:
        """Return why `body` is not a valid request for the operation, or None."""
        for op_method, pattern, operation in self.operations:
            if op_method == method and pattern.match(path):
                content = operation.get("requestBody", {}).get("content", {})
                schema = content.get("application/json", {}).get("schema")
                if schema is None:
                    return None
                resolver_schema = {**self.spec, **_nullable(schema)}
                try:
                    jsonschema.validate(body, resolver_schema)
                except jsonschema.ValidationError as error:
                    return f"{error.message} at {'/'.join(map(str, error.absolute_path))}"
                return None
        return None


@dataclass
class Fault:
    """An error to answer with instead of the real thing, `times` times."""

    method: str
    path: str  # a regular expression matched against the request path
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: Any = None
    times: int = 1


@dataclass
class Pull:
    """A pull request of the fake: its head is read from refs/pull/N/head when asked."""

    number: int
    author: str
    head_ref: str
    base_ref: str
    draft: bool = False
    labels: tuple[str, ...] = ()
    state: str = "open"
    head_sha: str | None = None  # what the API says the head is, if not refs/pull/N/head
    fork: str | None = None  # the head's repository (owner/name) when it is a fork's
    maintainer_can_modify: bool = False  # a fork's "Allow edits by maintainers"
    fork_deleted: bool = False  # the fork is gone: GitHub's head.repo is null


ACTIONS_APP = {"id": 15368, "slug": "github-actions", "name": "GitHub Actions"}


class FakeGitHub:
    """The fake: start() it, point the App at `url`, look at `requests`, `check_runs` (each
    with its `edits`, as PATCHes replace its fields and add its annotations), `comments`
    afterwards.

    Comments record who wrote them, as GitHub shows it: what an installation token the fake
    minted posts is the App's Bot account (`<slug>[bot]`), what any other token posts (a
    workflow's GITHUB_TOKEN, added to `tokens` by hand) is `github-actions[bot]`'s, and
    `add_comment` writes as a person.
    """

    def __init__(self, root: Path, app_id: int, public_key: str) -> None:
        self.root = root
        self.app_id = app_id
        self.slug = "trunkguard-test"
        self.public_key = public_key
        self.openapi = OpenAPI()
        self.installations: dict[int, set[str]] = {}
        self.pulls: dict[str, dict[int, Pull]] = {}
        self.default_branch: dict[str, str] = {}
        self.forks: dict[str, str] = {}  # a fork (owner/name) -> the repository it forks
        self.repository_ids: dict[str, int] = {}  # each repository's id, as GitHub numbers them
        self.tokens: dict[str, int] = {}
        self.minted: set[str] = set()  # installation tokens of the App (not a workflow's)
        self.refused_tokens: set[str] = set()
        self.check_runs: list[dict[str, Any]] = []
        self.check_run_apps: dict[int, str] = {}  # run id: the slug of the App that posted it
        self.check_run_times: dict[int, float] = {}  # id -> when it was posted (benchmarks)
        self.comments: dict[int, dict[str, Any]] = {}
        self.issues: dict[str, dict[int, dict[str, Any]]] = {}  # repository -> number -> issue
        self.requests: list[tuple[str, str, Any]] = []
        self.invalid: list[str] = []  # request bodies the description refuses
        self.faults: list[Fault] = []
        self.git_fetches = 0  # ref advertisements asked for
        self.git_uploads = 0  # packs negotiated (what a fetch with something new costs)
        self.git_pushes: list[str] = []  # repositories pushed to, one entry per push
        self.git_denied: list[str] = []  # repositories a valid token was denied (403), each time
        self.permissions: dict[int, dict[str, str]] = {}  # installation -> what it may do
        self.manifest_codes: set[str] = set()  # codes the manifest flow hands back
        self.private_key = ""  # what a manifest conversion returns as the App's key
        self._lock = threading.Lock()
        self._ids = iter(range(1000, 10**9))
        self.url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    # -- set-up ------------------------------------------------------------------------
    def add_repository(self, full_name: str, installation: int, default_branch: str) -> Path:
        """Create an empty bare repository served as `full_name`; return its path."""
        path = self.root / f"{full_name}.git"
        pygit2.init_repository(str(path), bare=True, initial_head=default_branch)
        self.installations.setdefault(installation, set()).add(full_name)
        self.pulls.setdefault(full_name, {})
        self.default_branch[full_name] = default_branch
        self.repository_ids.setdefault(full_name, 1000 + len(self.repository_ids))
        return path

    def add_fork(self, full_name: str, parent: str) -> Path:
        """Fork `parent` as `full_name`, a bare repository with the parent's branches as they
        are now; return its path. Nobody installed the App on it: an installation's token
        reaches it only through a pull request that allows edits by maintainers."""
        path = self.root / f"{full_name}.git"
        pygit2.init_repository(str(path), bare=True)
        parent_path = str(self.root / f"{parent}.git")
        _git_in(path, "fetch", "--quiet", parent_path, "+refs/heads/*:refs/heads/*")
        self.forks[full_name] = parent
        self.repository_ids.setdefault(full_name, 1000 + len(self.repository_ids))
        self.default_branch[full_name] = self.default_branch[parent]
        return path

    def protect(self, full_name: str, branch: str) -> None:
        """Make `branch` protected: a push to it is refused (GitHub's GH006)."""
        hooks = self.root / f"{full_name}.git" / "hooks"
        hooks.mkdir(exist_ok=True)
        listed = hooks.parent / "protected-branches"
        listed.write_text(listed.read_text() + f"refs/heads/{branch}\n" if listed.exists()
                          else f"refs/heads/{branch}\n")  # fmt: skip
        hook = hooks / "pre-receive"
        hook.write_text(
            "#!/bin/sh\nwhile read old new ref; do\n"
            '  if grep -qx "$ref" "$GIT_DIR/protected-branches"; then\n'
            '    echo "GH006: Protected branch update failed for $ref." >&2; exit 1\n'
            "  fi\ndone\n"
        )
        hook.chmod(0o755)

    def installation_permissions(self, installation: int) -> dict[str, str]:
        """What an installation may do (default: the App manifest's least privilege)."""
        least = {"checks": "write", "pull_requests": "write", "issues": "write",
                 "contents": "read", "metadata": "read"}  # fmt: skip
        return self.permissions.get(installation, least)

    def add_pull(self, full_name: str, pull: Pull) -> None:
        """Open a pull request. Its refs/pull/N/head must exist in the repository, unless its
        head is in a fork made by `add_fork`: then it is made from the fork's branch."""
        self.pulls[full_name][pull.number] = pull
        if pull.fork in self.forks:
            self._follow_pushes(pull.fork)

    def maintainers_may_push(self, installation: int, fork: str) -> set[str]:
        """The branches of `fork` an installation's token may fetch and push: the heads of
        open pull requests into its repositories that allow edits by maintainers."""
        return {
            p.head_ref
            for base in self.installations.get(installation, ())
            for p in self.pulls.get(base, {}).values()
            if p.fork == fork and p.state == "open" and p.maintainer_can_modify
        }

    def add_comment(self, full_name: str, issue: int, body: str, login: str = "mallory") -> int:
        """Comment on issue or pull request `issue` as the person `login`; return its id."""
        comment_id = next(self._ids)
        self.comments[comment_id] = {"repository": full_name, "issue": issue, "body": body,
                                     "edits": 0, "author": login, "app": None}  # fmt: skip
        return comment_id

    def clone_url(self, full_name: str) -> str:
        return f"{self.url}/git/{full_name}.git"

    # -- serving -----------------------------------------------------------------------
    def start(self) -> str:
        """Serve on a free loopback port; return the API URL."""
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(self._app(), host="127.0.0.1", port=port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("the fake GitHub did not start")
            time.sleep(0.01)
        return self.url

    def stop(self) -> None:
        if self._server is not None and self._thread is not None:
            self._server.should_exit = True
            self._thread.join(timeout=10)

    def posted(self, method: str, pattern: str) -> list[Any]:
        """The bodies of the requests with this method whose path matches `pattern`."""
        return [b for m, p, b in self.requests if m == method and re.search(pattern, p)]

    def _app(self) -> FastAPI:
        app = FastAPI()

        @app.api_route("/{path:path}", methods=["GET", "POST", "PATCH", "DELETE"])
        async def route(path: str, request: Request) -> Response:
            body = await request.body()
            return self._handle(request.method, "/" + path, request, body)

        return app

    def _json(self, status: int, body: Any, headers: dict[str, str] | None = None) -> Response:
        text = json.dumps(body).replace("https://api.github.com", self.url)
        return Response(text, status, headers, media_type="application/json; charset=utf-8")

    def _handle(self, method: str, path: str, request: Request, raw: bytes) -> Response:
        if path.startswith("/git/"):
            return self._git(method, path[len("/git") :], request, raw)
        body = json.loads(raw) if raw else None
        with self._lock:
            self.requests.append((method, path, body))
            for fault in self.faults:
                if fault.times > 0 and fault.method == method and re.search(fault.path, path):
                    fault.times -= 1
                    return self._json(fault.status, fault.body, fault.headers)
        if body is not None:
            problem = self.openapi.check(method, path, body)
            if problem is not None:
                self.invalid.append(f"{method} {path}: {problem}")
                return self._json(422, {"message": "Validation Failed", "detail": problem})
        match = re.fullmatch(r"/app-manifests/([^/]+)/conversions", path)
        if match and method == "POST":
            return self._conversion(match[1])
        auth = request.headers.get("authorization", "")
        match = re.fullmatch(r"/app/installations/(\d+)/access_tokens", path)
        if match and method == "POST":
            return self._access_token(int(match[1]), auth)
        if path == "/app" and method == "GET":
            return self._authenticated_app(auth)
        match = re.fullmatch(r"/app/installations/(\d+)", path)
        if match and method == "GET":
            refused = self._jwt_refused(auth)
            if refused is not None:
                return refused
            answer = example("apps.get-installation.200")
            answer.update(
                id=int(match[1]), permissions=self.installation_permissions(int(match[1]))
            )
            return self._json(200, answer)
        installation = self._installation(auth)
        if installation is None:
            return self._json(401, {"message": "Bad credentials"})
        match = re.fullmatch(r"/repos/([^/]+/[^/]+)(/.*)?", path)
        if not match or match[1] not in self.installations.get(installation, ()):
            return self._json(404, {"message": "Not Found"})
        token = re.sub(r"^(token|Bearer) ", "", auth)
        app = {"id": self.app_id, "slug": self.slug} if token in self.minted else ACTIONS_APP
        rest, query = match[2] or "", dict(request.query_params)
        return self._repo(method, match[1], rest, body, query, app)

    def _jwt_refused(self, auth: str) -> Response | None:
        """The 401 for a request not signed with the App's key (None: signed)."""
        try:
            claims = jwt.decode(auth.removeprefix("Bearer "), self.public_key, algorithms=["RS256"])
        except jwt.PyJWTError as error:
            return self._json(401, {"message": f"A JSON web token could not be decoded: {error}"})
        if str(claims.get("iss")) != str(self.app_id):
            return self._json(401, {"message": "'Issuer' claim ('iss') must be the App id"})
        return None

    def _app_body(self) -> dict[str, Any]:
        answer = example("apps.get-authenticated.200")
        answer.update(
            id=self.app_id, slug=self.slug, html_url=f"https://github.com/apps/{self.slug}"
        )
        return answer

    def _authenticated_app(self, auth: str) -> Response:
        """apps/get-authenticated: the App its JWT signs for."""
        return self._jwt_refused(auth) or self._json(200, self._app_body())

    def _access_token(self, installation: int, auth: str) -> Response:
        refused = self._jwt_refused(auth)
        if refused is not None:
            return refused
        if installation not in self.installations:
            return self._json(404, {"message": "Not Found"})
        token = f"ghs_fake{next(self._ids)}"
        self.tokens[token] = installation
        self.minted.add(token)
        answer = example("apps.create-installation-access-token.201")
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        answer.update(token=token, expires_at=expires)
        return self._json(201, answer)

    def _conversion(self, code: str) -> Response:
        """The manifest flow's last step: a code GitHub issued, once, for the App's secrets."""
        if code not in self.manifest_codes:
            return self._json(404, {"message": "Not Found"})
        self.manifest_codes.discard(code)
        answer = example("apps.get-authenticated.200")
        secret = "a webhook secret from GitHub"
        answer.update(id=self.app_id, slug=self.slug, pem=self.private_key,
                      webhook_secret=secret, client_secret="unused")  # fmt: skip
        return self._json(201, answer)

    def _installation(self, auth: str) -> int | None:
        token = re.sub(r"^(token|Bearer) ", "", auth)
        if token in self.refused_tokens:
            return None
        return self.tokens.get(token)

    def _pull_body(self, full_name: str, pull: Pull) -> dict[str, Any]:
        body = copy.deepcopy(example("pulls.list.200")[0])
        repo = pygit2.Repository(str(self.root / f"{full_name}.git"))
        head = repo.references.get(f"refs/pull/{pull.number}/head")
        body.update(
            number=pull.number,
            state=pull.state,
            draft=pull.draft,
            url=f"{self.url}/repos/{full_name}/pulls/{pull.number}",
            labels=[{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(pull.labels)],
        )
        body["user"]["login"] = pull.author
        sha = pull.head_sha or (str(head.target) if head else "0" * 40)
        body["head"].update(ref=pull.head_ref, sha=sha)
        body["head"]["repo"] = (
            None
            if pull.fork_deleted
            else self._repo_body(body["head"]["repo"], pull.fork or full_name)
        )
        body["head"]["label"] = f"{(pull.fork or full_name).split('/')[0]}:{pull.head_ref}"
        body["base"].update(ref=pull.base_ref)
        body["base"]["repo"] = self._repo_body(body["base"]["repo"], full_name)
        return body

    def _repo_body(self, shown: dict[str, Any], full_name: str) -> dict[str, Any]:
        """A pull request's head or base repository, named and cloned as this fake serves it."""
        owner, name = full_name.split("/")
        return {
            **shown,
            "id": self.repository_ids[full_name],
            "full_name": full_name,
            "name": name,
            "owner": {**shown["owner"], "login": owner},
            "fork": full_name in self.forks,
            "url": f"{self.url}/repos/{full_name}",
            "clone_url": self.clone_url(full_name),
        }

    def _repo(
        self,
        method: str,
        full_name: str,
        rest: str,
        body: Any,
        query: dict[str, str],
        app: dict[str, Any],
    ) -> Response:
        """Answer a call on one repository, made with a token of `app` (the one writing)."""
        if method == "GET" and rest == "":
            answer = example("repos.get.200")
            answer.update(
                full_name=full_name,
                name=full_name.split("/")[1],
                clone_url=self.clone_url(full_name),
                default_branch=self.default_branch[full_name],
                url=f"{self.url}/repos/{full_name}",
            )
            return self._json(200, answer)
        if method == "GET" and rest == "/pulls":
            pulls = [p for p in self.pulls[full_name].values() if p.state == "open"]
            shown, links = self._page(pulls, f"/repos/{full_name}/pulls", query)
            return self._json(200, [self._pull_body(full_name, p) for p in shown], links)
        match = re.fullmatch(r"/pulls/(\d+)", rest)
        if method == "GET" and match and int(match[1]) in self.pulls[full_name]:
            pull = self.pulls[full_name][int(match[1])]
            answer = example("pulls.get.200")
            listed = self._pull_body(full_name, pull)
            for key in ("number", "state", "draft", "url", "labels", "user", "head", "base"):
                answer[key] = listed[key]
            answer["maintainer_can_modify"] = pull.maintainer_can_modify
            return self._json(200, answer)
        if method == "POST" and rest == "/check-runs":
            run_id = next(self._ids)
            self.check_runs.append({"id": run_id, **body})
            self.check_run_times[run_id] = time.time()
            self.check_run_apps[run_id] = app["slug"]
            answer = example("checks.create.201.example-of-completed-conclusion")
            answer.update(id=run_id, head_sha=body["head_sha"], name=body["name"])
            answer.update(conclusion=body.get("conclusion"), status=body.get("status"))
            return self._json(201, answer)
        match = re.fullmatch(r"/check-runs/(\d+)", rest)
        if match and method == "PATCH":
            # checks/update: the run's fields replaced, its annotations added to those there.
            run = next((r for r in self.check_runs if r["id"] == int(match[1])), None)
            if run is None:
                return self._json(404, {"message": "Not Found"})
            if self.check_run_apps.get(run["id"], app["slug"]) != app["slug"]:
                # GitHub: an App may only update its own check runs.
                return self._json(403, {"message": "Invalid app_id `1` - check run can only be "
                                        "modified by the GitHub App that created it."})  # fmt: skip
            shown = run.get("output", {}).get("annotations", [])
            run.update({k: v for k, v in body.items() if k != "output"})
            if "output" in body:
                added = body["output"].get("annotations", [])
                run["output"] = {**body["output"], "annotations": [*shown, *added]}
            run["edits"] = run.get("edits", 0) + 1
            answer = example("checks.update.200")
            answer.update(id=run["id"], head_sha=run["head_sha"], name=run["name"],
                          external_id=run.get("external_id"), status=run.get("status"),
                          conclusion=run.get("conclusion"))  # fmt: skip
            return self._json(200, answer)
        match = re.fullmatch(r"/commits/([0-9a-f]{40})/check-runs", rest)
        if match and method == "GET":
            # checks/list-for-ref: newest first; filter=latest (GitHub's default) keeps the
            # newest run of each name.
            runs = [
                r
                for r in reversed(self.check_runs)
                if r["head_sha"] == match[1] and r["name"] == query.get("check_name", r["name"])
            ]
            if query.get("filter", "latest") == "latest":
                runs = [r for i, r in enumerate(runs) if r["name"] not in
                        {o["name"] for o in runs[:i]}]  # fmt: skip
            bodies = []
            for run in runs:
                answer = example("checks.create.201.example-of-completed-conclusion")
                answer.update(id=run["id"], head_sha=run["head_sha"], name=run["name"],
                              external_id=run.get("external_id"), status=run.get("status"),
                              conclusion=run.get("conclusion"))  # fmt: skip
                shown = run.get("output", {}).get("annotations", [])
                answer["output"] = {**answer["output"], "annotations_count": len(shown)}
                slug = self.check_run_apps.get(run["id"], app["slug"])
                answer["app"] = {**answer["app"], "slug": slug}
                bodies.append(answer)
            return self._json(200, {"total_count": len(bodies), "check_runs": bodies})
        match = re.fullmatch(r"/issues/(\d+)/comments", rest)
        if match and method == "GET":
            mine = [
                self._comment_body(full_name, i, c)
                for i, c in sorted(self.comments.items())
                if c["issue"] == int(match[1]) and c["repository"] == full_name
            ]
            return self._json(200, mine)
        if match and method == "POST":
            comment_id = next(self._ids)
            self.comments[comment_id] = {
                "repository": full_name,
                "issue": int(match[1]),
                "body": body["body"],
                "edits": 0,
                "author": f"{app['slug']}[bot]",
                "app": app,
            }
            return self._json(
                201, self._comment_body(full_name, comment_id, self.comments[comment_id])
            )
        if method == "POST" and rest == "/issues":
            taken = set(self.pulls[full_name]) | set(self.issues.get(full_name, {}))
            number = max(taken, default=0) + 1
            issue = {
                "title": body["title"],
                "body": body.get("body"),
                "labels": list(body.get("labels", [])),
                "state": "open",
                "edits": 0,
            }
            self.issues.setdefault(full_name, {})[number] = issue
            return self._json(201, self._issue_body(full_name, number, issue))
        match = re.fullmatch(r"/issues/(\d+)", rest)
        if match and method == "PATCH" and int(match[1]) in self.issues.get(full_name, {}):
            # issues/update is not in the description subset: its answer is the issue, as
            # for issues/create, whose example it reuses.
            issue = self.issues[full_name][int(match[1])]
            issue.update({k: body[k] for k in ("title", "body", "state") if k in body})
            issue["edits"] += 1
            return self._json(200, self._issue_body(full_name, int(match[1]), issue))
        match = re.fullmatch(r"/issues/comments/(\d+)", rest)
        if match and int(match[1]) in self.comments:
            comment_id = int(match[1])
            if method == "PATCH":
                self.comments[comment_id]["body"] = body["body"]
                self.comments[comment_id]["edits"] += 1
                return self._json(
                    200, self._comment_body(full_name, comment_id, self.comments[comment_id])
                )
            if method == "DELETE":
                del self.comments[comment_id]
                return Response(status_code=204)
        return self._json(404, {"message": "Not Found"})

    def _page(self, items: list[Any], path: str, query: dict[str, str]) -> tuple[list[Any], Any]:
        """One page of a list as GitHub serves it (`per_page`, 30 by default and 100 at most;
        `page` from 1), and its Link header to the next and last pages."""
        per_page = min(int(query.get("per_page", 30)), 100)
        page = int(query.get("page", 1))
        last = max(1, -(-len(items) // per_page))
        rest = {k: v for k, v in query.items() if k != "page"}

        def link(n: int, rel: str) -> str:
            params = "&".join(f"{k}={v}" for k, v in {**rest, "page": str(n)}.items())
            return f'<{self.url}{path}?{params}>; rel="{rel}"'

        links = [link(page + 1, "next"), link(last, "last")] if page < last else []
        headers = {"Link": ", ".join(links)} if links else None
        return items[(page - 1) * per_page : page * per_page], headers

    def _issue_body(self, full_name: str, number: int, issue: dict[str, Any]) -> Any:
        answer = copy.deepcopy(example("issues.create.201"))
        answer.update(
            number=number,
            title=issue["title"],
            body=issue["body"],
            state=issue["state"],
            url=f"{self.url}/repos/{full_name}/issues/{number}",
            labels=[{"id": i, "name": n, "color": "ededed"} for i, n in enumerate(issue["labels"])],
        )
        return answer

    def _comment_body(self, full_name: str, comment_id: int, comment: dict[str, Any]) -> Any:
        answer = copy.deepcopy(example("issues.create-comment.201"))
        answer.update(
            id=comment_id,
            body=comment["body"],
            url=f"{self.url}/repos/{full_name}/issues/comments/{comment_id}",
        )
        answer["user"].update(login=comment["author"], type="User")
        answer["performed_via_github_app"] = None
        if comment["app"] is not None:
            # An App's comment: written by its Bot account, and `performed_via_github_app`.
            answer["user"].update(
                type="Bot", html_url=f"https://github.com/apps/{comment['app']['slug']}"
            )
            answer["performed_via_github_app"] = {**self._app_body(), **comment["app"]}
        return answer

    def _follow_pushes(self, full_name: str) -> None:
        """As GitHub does: a push to a pull request's branch, in the base repository or in a
        fork, moves refs/pull/N/head in the base repository (the fork's objects fetched in)."""
        path = self.root / f"{full_name}.git"
        repo = pygit2.Repository(str(path))
        for pull in self.pulls.get(full_name, {}).values():
            branch = repo.references.get(f"refs/heads/{pull.head_ref}")
            if pull.fork is None and branch is not None:
                repo.references.create(f"refs/pull/{pull.number}/head", branch.target, force=True)
        for base, pulls in self.pulls.items():
            for pull in pulls.values():
                branch = f"refs/heads/{pull.head_ref}"
                if pull.fork == full_name and repo.references.get(branch) is not None:
                    into = f"+{branch}:refs/pull/{pull.number}/head"
                    _git_in(self.root / f"{base}.git", "fetch", "--quiet", str(path), into)

    def _denied(self, full_name: str, why: str = "") -> Response:
        """A 403 to a valid token for git on `full_name`, recorded."""
        with self._lock:
            self.git_denied.append(full_name)
        return Response(why or f"Permission to {full_name}.git denied to {self.slug}[bot].", 403)

    def _git(self, method: str, path: str, request: Request, body: bytes) -> Response:
        """git's smart HTTP, through `git http-backend`, for holders of a valid token."""
        auth = request.headers.get("authorization", "")
        token = None
        if auth.startswith("Basic "):
            user, _, token = base64.b64decode(auth[6:]).decode().partition(":")
        match = re.match(r"/([^/]+/[^/]+)\.git/", path)
        installation = self.tokens.get(token or "") if token not in self.refused_tokens else None
        if installation is None or not match:
            return Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="fake GitHub"'})
        branches = (
            self.maintainers_may_push(installation, match[1]) if match[1] in self.forks else None
        )
        if branches is None and match[1] not in self.installations.get(installation, ()):
            return Response("Unauthorized", 401, {"WWW-Authenticate": 'Basic realm="fake GitHub"'})
        if branches is not None and not branches:
            return self._denied(match[1])
        if path.endswith("/info/refs"):
            with self._lock:
                self.git_fetches += 1
        if path.endswith("/git-upload-pack") and method == "POST":
            with self._lock:
                self.git_uploads += 1
        pushing = (
            path.endswith("/git-receive-pack") or request.url.query == "service=git-receive-pack"
        )
        if pushing and self.installation_permissions(installation).get("contents") != "write":
            return self._denied(match[1], "Permission denied: contents write needed")
        if branches is not None and path.endswith("/git-receive-pack") and method == "POST":
            pushed = set(_pushed_refs(body, request.headers.get("content-encoding", "")))
            if not pushed <= {f"refs/heads/{b}" for b in branches}:
                # Maintainers may edit a pull request's branch, not the rest of the fork.
                return self._denied(match[1])
        if path.endswith("/git-receive-pack") and method == "POST":
            with self._lock:
                self.git_pushes.append(match[1])
        env = {
            "GIT_PROJECT_ROOT": str(self.root),
            "GIT_HTTP_EXPORT_ALL": "1",
            "REQUEST_METHOD": method,
            "PATH_INFO": path,
            "QUERY_STRING": request.url.query,
            "CONTENT_TYPE": request.headers.get("content-type", ""),
            "CONTENT_LENGTH": str(len(body)),
            "REMOTE_USER": "x-access-token",
            "REMOTE_ADDR": "127.0.0.1",
            "GIT_PROTOCOL": request.headers.get("git-protocol", ""),
            "HTTP_CONTENT_ENCODING": request.headers.get("content-encoding", ""),
            "PATH": "/usr/bin:/bin",
        }
        done = subprocess.run(
            ["git", "http-backend"], input=body, env=env, capture_output=True, timeout=120
        )
        if path.endswith("/git-receive-pack") and method == "POST":
            self._follow_pushes(match[1])
        head, _, payload = done.stdout.partition(b"\r\n\r\n")
        status, headers = 200, {}
        for line in head.decode().split("\r\n"):
            name, _, value = line.partition(": ")
            if name.lower() == "status":
                status = int(value.split()[0])
            elif name:
                headers[name] = value
        return Response(payload, status, headers)


def _git_in(git_dir: Path, *args: str) -> None:
    """Run git in bare repository `git_dir` (the fake's own bookkeeping, not a request)."""
    subprocess.run(["git", "--git-dir", str(git_dir), *args], check=True, capture_output=True)


def _pushed_refs(body: bytes, encoding: str) -> list[str]:
    """The refs a receive-pack request updates: its commands, the pkt-lines ("old new ref",
    the first with capabilities after a NUL) before the flush packet that precedes the pack."""
    if encoding == "gzip":
        body = gzip.decompress(body)
    refs, at = [], 0
    while at + 4 <= len(body) and (size := int(body[at : at + 4], 16)) > 4:
        command = body[at + 4 : at + size].split(b"\0")[0].strip().split(b" ")
        if len(command) == 3:  # not a "shallow <oid>" line
            refs.append(command[2].decode())
        at += size
    return refs


def push_two_conflicting_pulls(github: FakeGitHub, full_name: str) -> GitRepo:
    """Fill `full_name` (already added to the fake): an old branch (#7, by bob) and a young
    one (#8, by ada) that edit the same lines of app.py, so each will conflict with the
    other once either lands."""
    path = github.root / f"{full_name}.git"
    t = GitRepo(path.parent / "build.git")
    base = t.commit({"app.py": numbered(), "README": "app\n"}, days_ago=40, branch="main")
    old = t.commit({"app.py": numbered(changes={10: "old branch"})}, days_ago=19,
                   parents=[base], branch="old-feature", author=BOB)  # fmt: skip
    young = t.commit({"app.py": numbered(changes={10: "young branch"})}, days_ago=0.5,
                     parents=[base], branch="young-feature")  # fmt: skip
    t.ref("refs/pull/7/head", old)
    t.ref("refs/pull/8/head", young)
    t.git("push", "--quiet", str(path), "+refs/*:refs/*")
    github.add_pull(full_name, Pull(7, "bob", "old-feature", "main"))
    github.add_pull(full_name, Pull(8, "ada", "young-feature", "main"))
    return t
