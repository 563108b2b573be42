"""The fuzzer of issue 12: every URL of the URL configuration, with every role, receives
hostile values in every query parameter and form field found; any HTTP 500 fails.

What is sent where is found, not listed:
- the URL patterns come from `get_resolver()`, each filled with the ids of one full job
  (customer, site, machines, job, steps, runs, incident, evidence, agent token);
- the keys each view reads are read from its source and from the source of the project
  functions it reaches that take the request (`request.GET.get("job")`,
  `"site" in request.GET`, `JobFilterForm(request.GET …)` → the form's fields), found
  through the view object itself, never through a module path;
- the pages are crawled as a supervisor and as a superuser: every `<form>` (its
  `<input>`, `<select>`, `<textarea>`, the `formaction` of its buttons), every link and
  every `hx-get` names fields and query keys for the URL it targets, with a valid value;
- a small table adds what neither shows (Django's own `next`, the language field).

Each request runs in a savepoint rolled back at once, so every request meets the same job.
A POST that is accepted is followed to the page it redirects to (a stored bad value must
not break the page that shows it); a reader report accepted by the API is followed by the
job and machine pages. Set JULIEOPS_FUZZ_REPORT=<file> to get every 500 written there.
"""

import contextlib
import inspect
import json
import os
import re
import sys
import time
import types
import urllib.parse
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from pathlib import Path

import pytest
from django import forms
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.contenttypes.models import ContentType
from django.core.cache import cache
from django.core.signals import got_request_exception
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.exceptions import Resolver404

from migrations_app import actions
from readers.models import AgentToken
from tests.conftest import PASSWORD
from tests.support.practice import make_practice

from .conftest import make_world

pytestmark = pytest.mark.django_db

PROJECT = {"migrations_app", "readers", "julieops"}
FORM = "application/x-www-form-urlencoded"
ROLES = ["anonymous", "mallory", "carol", "alice", "bob", "root"]
ROLE_GROUPS = {"carol": "auditeur", "alice": "technicien", "bob": "superviseur"}
MIN_REQUESTS = 20_000


class Raw(str):
    """A value already percent-encoded: bytes no Python string can carry (bad UTF-8)."""


# (label, value) sent in query strings and form fields.
HOSTILE = [
    ("superscript digit", "²"),
    ("arabic-indic digits", "١٢"),
    ("full-width digit", "５"),
    ("2**63", str(2**63)),
    ("10**20", str(10**20)),
    ("negative", "-1"),
    ("zero", "0"),
    ("decimal", "1.5"),
    ("NUL", "a\x00b"),
    ("lone surrogate (CESU-8)", Raw("%ED%A0%80")),
    ("invalid UTF-8", Raw("%FF%FEa")),
    ("1 MB", "x" * 1_000_000),
    ("invalid date", "2026-02-30"),
    ("far date", "9999-12-31T23:59:59-05:00"),
    ("empty", ""),
    ("markup", '<script>alert("x")</script>'),
]
# Where the full table is not needed: Django's own admin (the superuser's only), and a
# route the role cannot reach (its plain GET and POST answer 403 or the log-in page) —
# there a few values per key show that nothing is read before the refusal.
SAMPLE = {"superscript digit", "2**63", "NUL", "1 MB"}
REFUSED_SAMPLE = {"superscript digit", "2**63", "NUL"}
# The admin's own buttons and hidden copies of initial values: not input a view reads.
ADMIN_CONTROLS = re.compile(r"^(_addanother|_continue|_save|_popup|_to_field|initial-.*)$")
# Values for the ids in the path itself (converters let only ASCII digits through).
PATH_INTS = [0, 2**31, 2**63, 10**20]

# Keys the view code does not name literally (Django's own views, variable keys).
EXPLICIT = {
    "login": {"GET": ["next"], "POST": ["username", "password", "next"]},
    "logout": {"POST": ["next"]},
    "set_language": {"GET": ["next"], "POST": ["language", "next"]},
}
# A valid value for a key no page shows with one (the cancel form needs a running run).
VALID = {"run": lambda w: w.world.run.pk, "dry_run": lambda w: "1"}


# ---------------------------------------------------------------- what the views read

REQUEST_KEY = re.compile(
    r"""request\.(GET|POST)(?:\.(?:get|getlist|pop)\(\s*|\[\s*)["']([^"']+)["']"""
)
REQUEST_IN = re.compile(r"""["']([^"']+)["']\s+in\s+(?:self\.)?request\.(GET|POST)\b""")
FORM_FROM = re.compile(r"""\b([A-Z]\w*)\(\s*(?:self\.)?request\.(GET|POST)\b""")


def _is_project(obj) -> bool:
    return (getattr(obj, "__module__", None) or "").split(".")[0] in PROJECT


def _names(code):
    yield from code.co_names
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            yield from _names(const)


def _lookup(name: str, fn) -> list:
    if name in fn.__globals__:
        return [fn.__globals__[name]]
    # A local import (`from .views_machines import since_of` inside the function).
    return [
        getattr(module, name)
        for module_name, module in list(sys.modules.items())
        if module is not None and module_name.split(".")[0] in PROJECT and hasattr(module, name)
    ]


def _takes_request(fn) -> bool:
    try:
        return "request" in inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False


@dataclass
class Reads:
    keys: dict = field(default_factory=lambda: {"GET": set(), "POST": set()})
    sources: list = field(default_factory=list)
    globals: list = field(default_factory=list)


def view_reads(callback) -> Reads:
    """Keys of request.GET / request.POST the view and its project helpers read, with the
    fields of the forms they build from request.GET or request.POST."""
    reads = Reads()
    view_class = getattr(callback, "view_class", None)
    todo = [callback]
    form_classes = {}
    if view_class is not None:
        todo = [f for _n, f in inspect.getmembers(view_class, inspect.isfunction)]
        if getattr(view_class, "form_class", None) is not None:
            form_classes[view_class.form_class.__name__] = view_class.form_class
            reads.keys["POST"] |= set(view_class.form_class.base_fields)
    seen = set()
    while todo:
        fn = inspect.unwrap(todo.pop())
        if fn in seen or not isinstance(fn, types.FunctionType):
            continue
        seen.add(fn)
        try:
            source = inspect.getsource(fn)
        except (OSError, TypeError):
            continue
        reads.sources.append(source)
        reads.globals.append(fn.__globals__)
        for method, key in REQUEST_KEY.findall(source):
            reads.keys[method].add(key)
        for key, method in REQUEST_IN.findall(source):
            reads.keys[method].add(key)
        for name in set(_names(fn.__code__)):
            for obj in _lookup(name, fn):
                if isinstance(obj, type) and issubclass(obj, forms.BaseForm):
                    form_classes[obj.__name__] = obj
                elif (
                    isinstance(obj, types.FunctionType)
                    and _is_project(inspect.unwrap(obj))
                    and _takes_request(inspect.unwrap(obj))
                ):
                    todo.append(obj)
        for name, method in FORM_FROM.findall(source):
            if name in form_classes:
                reads.keys[method] |= set(form_classes[name].base_fields)
    return reads


def literal_values(reads: Reads, name: str) -> set[str]:
    """Values the code compares a path argument with: `action == "tick"`,
    `action in ("run", "retry")`, `tool not in TOOLS` (the keys of TOOLS)."""
    found = set()
    for source, namespace in zip(reads.sources, reads.globals, strict=True):
        found |= set(re.findall(rf"""\b{name}\s*==\s*["']([\w-]+)["']""", source))
        for group in re.findall(rf"""\b{name}\s+(?:not\s+)?in\s+[(\[{{]([^)\]}}]*)""", source):
            found |= set(re.findall(r"""["']([\w-]+)["']""", group))
            found |= set(re.findall(r"\b(\d+)\b", group))
        for ref in re.findall(rf"""\b{name}\s+(?:not\s+)?in\s+([A-Z_][A-Z0-9_]*)\b""", source):
            table = namespace.get(ref)
            if isinstance(table, dict | set | list | tuple | frozenset):
                found |= {str(k) for k in table}
    return found


# ---------------------------------------------------------------- what the pages show


class PageParser(HTMLParser):
    """Forms (action, method, fields with a valid value) and every URL a page points to."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms, self.links = [], []
        self._form = self._select = self._textarea = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for attr in ("href", "hx-get", "hx-post", "src"):
            if a.get(attr):
                self.links.append(a[attr])
        if tag == "form":
            self._form = {
                "action": a.get("action") or a.get("hx-post") or "",
                "method": (a.get("method") or "get").lower(),
                "fields": [],
                "buttons": [],
            }
            self.forms.append(self._form)
            return
        form = self._form
        if form is None:
            return
        name = a.get("name")
        if tag == "button":
            if a.get("formaction"):
                form["buttons"].append(a["formaction"])
            if name:
                form["fields"].append((name, a.get("value", ""), "button"))
        elif tag == "input" and name:
            kind = (a.get("type") or "text").lower()
            if kind in ("checkbox", "radio") and "checked" not in a:
                form["fields"].append((name, None, kind))
            else:
                form["fields"].append((name, a.get("value", ""), kind))
        elif tag == "select" and name:
            self._select = [name, None, None]
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if "selected" in a:
                self._select[1] = value
            elif self._select[2] is None and value:
                self._select[2] = value
        elif tag == "textarea" and name:
            self._textarea = [name, ""]

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea[1] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select" and self._select is not None:
            name, selected, first = self._select
            if self._form is not None:
                self._form["fields"].append((name, selected or first or "", "select"))
            self._select = None
        elif tag == "textarea" and self._textarea is not None:
            if self._form is not None:
                self._form["fields"].append((*self._textarea, "textarea"))
            self._textarea = None


FILLERS = {
    "email": "fuzz@example.org",
    "number": "1",
    "url": "https://example.org/",
    "date": "2026-05-01",
    "datetime-local": "2026-05-01T09:30",
    "password": "un-mot-de-passe-fuzz-123",
}


def _filled(name: str, value, kind: str) -> str:
    """The value a field is sent with: the page's, or for an empty text-like field a
    valid-looking one (required fields block the code behind the form otherwise)."""
    if value or kind in ("hidden", "select", "button"):
        return value
    if kind in ("checkbox", "radio"):
        return "on"
    if kind in FILLERS:
        return FILLERS[kind]
    return f"fuzz-{name}"[:40]


# ---------------------------------------------------------------- the URL patterns


@dataclass
class Route:
    name: str  # URL name, or the view's name for the admin's unnamed patterns
    route: str
    callback: object
    kwargs: list  # (name, converter) of the path's arguments
    reads: Reads = None


def routes(resolver=None, prefix="", namespace=""):
    resolver = resolver or get_resolver()
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            ns = pattern.namespace or namespace
            yield from routes(pattern, prefix + str(pattern.pattern), ns)
        elif isinstance(pattern, URLPattern):
            route = prefix + str(pattern.pattern)
            kwargs = re.findall(r"(?<!\?P)<(?:(\w+):)?(\w+)>", route)
            kwargs = [(n, c or "str") for c, n in kwargs]
            kwargs += [(n, "re") for n in re.findall(r"\(\?P<(\w+)>", route)]
            callback = pattern.callback
            name = pattern.name or getattr(inspect.unwrap(callback), "__name__", "view")
            qualified = f"{namespace}:{name}" if namespace else name
            yield Route(qualified, route, callback, kwargs)


def _admin_model(route: str):
    match = re.match(r"admin/(\w+)/(\w+)/", route)
    if match:
        try:
            return apps.get_model(match[1], match[2])
        except LookupError:
            return None
    return None


@dataclass
class Target:
    route: Route
    values: dict  # path argument -> value
    url: str


class Fuzzer:
    def __init__(self, world, users, token_value, media):
        self.world, self.users, self.token_value, self.media = world, users, token_value, media
        self.clients = {}
        for role in ROLES:
            client = Client(raise_request_exception=False)
            if role != "anonymous":
                client.force_login(users[role])
            self.clients[role] = client
        self.requests = Counter()
        self.roles_done: set[str] = set()  # roles sent to every route
        self.failures = []
        self.exceptions = []
        self.routes = [r for r in routes()]
        for route in self.routes:
            route.reads = view_reads(route.callback)
        self.get_keys = defaultdict(set)  # route name -> query keys
        self.get_base = defaultdict(dict)  # route name -> key -> a valid value
        # route name, or (route name, word arguments) -> field -> the values sent
        self.post_fields = defaultdict(dict)
        self.slugs = defaultdict(set)  # (route name, argument) -> values
        self.pages = 0
        self.by_view = Counter()
        self.view_time = Counter()

    # -------------------------------------------------------------- URLs

    def pk_of(self, route: Route, name: str):
        w = self.world
        if name == "step_pk":
            return w.step.pk
        if name == "run_pk":
            return w.run.pk
        if name == "object_id" and route.route.startswith("admin/r/"):
            return w.job.customer_id  # with content_type_id: the customer's
        if name in ("object_id", "id"):
            model = _admin_model(route.route)
            if model is None:
                return None
            obj = model._default_manager.order_by("pk").first()
            return obj.pk if obj else 1
        if name == "content_type_id":
            return ContentType.objects.get_for_model(type(w.job.customer)).pk
        if name == "pk":
            return w.pk_for(route.route)
        return None

    def fill(self, route: Route, values: dict) -> str:
        url = route.route
        for name, value in values.items():
            url = re.sub(rf"\(\?P<{name}>(?:[^()]|\([^()]*\))*\)", str(value), url)
            url = re.sub(rf"<(?:\w+:)?{name}>", str(value), url)
        url = url.replace("^", "").replace("$", "")
        assert "<" not in url and "(" not in url, (route.route, url)
        return "/" + url

    def targets(self, route: Route) -> list[Target]:
        """The route with the job's ids, once per known value of each word argument."""
        base = {}
        words = []
        for name, conv in route.kwargs:
            if conv == "int" or name.endswith("_id") or name in ("pk", "id"):
                if name == "phase":
                    base[name] = 1
                else:
                    base[name] = self.pk_of(route, name)
            elif name == "app_label":
                base[name] = "migrations_app"
            elif name == "url":
                base[name] = "inconnu/"
            else:
                words.append(name)
        if name_missing := [n for n, v in base.items() if v is None]:
            raise AssertionError(f"{route.route}: no value for {name_missing}")
        combos = [dict(base)]
        for name in words:
            known = sorted(literal_values(route.reads, name) | self.slugs[(route.name, name)])
            known = [k for k in known if re.fullmatch(r"[-a-zA-Z0-9_]+", k)] + ["inconnu"]
            combos = [{**c, name: k} for c in combos for k in known]
        for name, conv in route.kwargs:
            if conv == "int" and name == "phase":
                found = sorted(literal_values(route.reads, name), key=str)
                combos += [{**base, **combos[0], name: p} for p in found if str(p) != "1"]
        return [Target(route, c, self.fill(route, c)) for c in combos]

    def resolve(self, url: str):
        """The route a link or a form's action points to, and its path arguments."""
        path = urllib.parse.urlsplit(url).path
        if not path.startswith("/"):
            return None, {}
        try:
            match = get_resolver().resolve(path)
        except Resolver404:
            return None, {}
        for route in self.routes:
            if route.callback is match.func and (route.name.split(":")[-1] == match.url_name):
                return route, match.kwargs
        for route in self.routes:
            if route.callback is match.func:
                return route, match.kwargs
        return None, {}

    # -------------------------------------------------------------- sending

    def send(self, role, method, url, *, body=b"", content_type=FORM, headers=None, note=None):
        """One request in a savepoint rolled back at once; a 500 is recorded with its cause.
        An accepted POST is followed to the page it redirects to."""
        client = self.clients[role]
        saved = SimpleCookie()
        saved.update(client.cookies)
        with transaction.atomic():
            response = self._one(client, role, method, url, body, content_type, headers, note)
            accepted = method == "POST" and response.status_code in (301, 302, 303)
            if accepted and response.get("Location", "").startswith("/"):
                self._one(client, role, "GET", response["Location"], b"", FORM, None, note, True)
            transaction.set_rollback(True)
        client.cookies = saved
        if response.status_code == 429:  # the log-in limiter: start again from zero
            cache.clear()
        return response

    def _one(self, client, role, method, url, body, content_type, headers, note, after=False):
        del self.exceptions[:]
        if method == "GET":
            response = client.get(url, headers=headers)
        else:
            response = client.post(url, data=body, content_type=content_type, headers=headers)
        self.requests[role] += 1
        if response.status_code >= 500 and response.status_code != 501:
            self.record(role, method, url, response, note, after)
        return response

    def record(self, role, method, url, response, note, after):
        exc_type, exc, where = "(no exception)", "", ""
        if self.exceptions:
            exc_type, exc, tb = self.exceptions[0]
            frames = [f for f in _frames(tb) if _in_project(f.f_code.co_filename)]
            if frames:
                f = frames[-1]
                where = f"{_short(f.f_code.co_filename)}:{f.f_lineno} {f.f_code.co_name}"
            exc_type, exc = exc_type.__name__, str(exc)
        route, _kw = self.resolve(url)
        label = (note or {}).get("field", ""), (note or {}).get("value", "")
        self.failures.append(
            {
                "role": role,
                "method": ("GET after POST " if after else "") + method,
                "view": route.name if route else "?",
                "url": _shorten(url),
                "field": label[0],
                "value": label[1],
                "status": response.status_code,
                "exception": exc_type,
                "message": _shorten(exc, 160),
                "where": where,
                "request": (note or {}).get("request", method),
            }
        )

    # -------------------------------------------------------------- discovery

    def crawl(self, roles=("bob", "root"), limit_per_route=20):
        """Visit every route and every page linked from it; learn fields and values."""
        seen, shapes, per_route = set(), set(), Counter()
        queue = [t.url for r in self.routes for t in self.targets(r)]
        while queue:
            url = queue.pop(0)
            if url in seen:
                continue
            seen.add(url)
            route, kwargs = self.resolve(url)
            if route is None or per_route[route.name] >= limit_per_route:
                continue
            query = urllib.parse.urlsplit(url).query
            shape = (
                route.name,
                tuple(sorted(kwargs.items())),
                frozenset(k for k, _v in urllib.parse.parse_qsl(query, keep_blank_values=True)),
            )
            if shape in shapes:  # one page per set of path values and query keys
                continue
            shapes.add(shape)
            per_route[route.name] += 1
            for role in roles:
                response = self.send(role, "GET", url, note={"request": "crawl"})
                self.pages += 1
                if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                    continue
                parser = PageParser()
                parser.feed(response.content.decode("utf-8", "replace"))
                for link in parser.links:
                    queue.extend(self.learn_link(url, link))
                for form in parser.forms:
                    self.learn_form(url, form)

    def learn_link(self, page_url, link):
        absolute = urllib.parse.urljoin(page_url, link)
        parts = urllib.parse.urlsplit(absolute)
        if parts.netloc and parts.netloc != "testserver":
            return []
        route, kwargs = self.resolve(parts.path)
        if route is None:
            return []
        for name, value in kwargs.items():
            if isinstance(value, str):
                self.slugs[(route.name, name)].add(value)
        for key, value in urllib.parse.parse_qsl(parts.query, keep_blank_values=True):
            self.get_keys[route.name].add(key)
            self.get_base[route.name].setdefault(key, value)
        return [parts.path + (f"?{parts.query}" if parts.query else "")]

    def learn_form(self, page_url, form):
        actions = [form["action"] or page_url, *form["buttons"]]
        for action in actions:
            absolute = urllib.parse.urljoin(page_url, action)
            route, kwargs = self.resolve(absolute)
            if route is None:
                continue
            for name, value in kwargs.items():
                if isinstance(value, str):
                    self.slugs[(route.name, name)].add(value)
            if form["method"] == "get":
                for name, value, _kind in form["fields"]:
                    if name != "csrfmiddlewaretoken":
                        self.get_keys[route.name].add(name)
                        if value:
                            self.get_base[route.name].setdefault(name, value)
                continue
            # The form as a browser sends it: unchecked boxes left out, repeated names kept.
            sent = defaultdict(list)
            for name, value, kind in form["fields"]:
                if name == "csrfmiddlewaretoken":
                    continue
                sent.setdefault(name, [])
                if value is not None:
                    sent[name].append(_filled(name, value, kind))
            words = tuple(sorted((k, v) for k, v in kwargs.items() if isinstance(v, str)))
            # Per action (`…/note/` has its own form) and, for the others, per route.
            for known in (self.post_fields[(route.name, words)], self.post_fields[route.name]):
                for name, values in sent.items():
                    if name not in known or (values and not known[name]):
                        known[name] = values

    # -------------------------------------------------------------- the fuzz

    def query_keys(self, route: Route) -> set[str]:
        explicit = EXPLICIT.get(route.name, {})
        return route.reads.keys["GET"] | self.get_keys[route.name] | set(explicit.get("GET", []))

    def form_fields(self, route: Route, words: dict | None = None) -> dict[str, list[str]]:
        """Field -> the values a valid submission sends (the page's, else a filler): the
        form of that action if a page showed one, else every form of the route."""
        explicit = EXPLICIT.get(route.name, {})
        words = tuple(sorted((k, v) for k, v in (words or {}).items() if isinstance(v, str)))
        shown = self.post_fields.get((route.name, words)) or self.post_fields[route.name]
        fields = {k: list(v) for k, v in shown.items()}
        for key in route.reads.keys["POST"] | set(explicit.get("POST", [])):
            if key not in fields:
                fields[key] = [str(VALID[key](self)) if key in VALID else _filled(key, "", "")]
        return fields

    def fuzz_route(self, role: str, route: Route):
        if route.name == "readers_report":
            return  # the JSON API has a test of its own
        for target in self.targets(route):
            before, started = self.requests[role], time.monotonic()
            self.fuzz_target(role, target)
            self.by_view[route.name] += self.requests[role] - before
            self.view_time[route.name] += time.monotonic() - started

    def fuzz_target(self, role: str, target: Target):
        route, url = target.route, target.url
        fields = self.form_fields(route, target.values)
        body = _encode(_pairs(fields))
        # The page as it is, then its ids out of range.
        plain = [
            self.send(role, "GET", url, note={"request": "plain"}),
            self.send(role, "POST", url, body=body, note={"request": "plain"}),
        ]
        values = HOSTILE
        if all(_refused(r) for r in plain):
            values = [(label, v) for label, v in HOSTILE if label in REFUSED_SAMPLE]
        elif route.route.startswith("admin/"):
            values = [(label, v) for label, v in HOSTILE if label in SAMPLE]
        self.send(role, "GET", url, headers={"HX-Request": "true"}, note={"request": "htmx"})
        for name, conv in route.kwargs:
            if conv != "int":
                continue
            for value in PATH_INTS:
                bad = self.fill(route, {**target.values, name: value})
                note = {"field": f"<path {name}>", "value": str(value), "request": "path"}
                self.send(role, "GET", bad, note=note)
                self.send(role, "POST", bad, body=body, note=note)
        # Every query key alone, and among the valid values of the others.
        base = self.get_base[route.name]
        for key in sorted(self.query_keys(route)):
            others = [(k, v) for k, v in base.items() if k != key]
            for label, value in values:
                note = {"field": key, "value": label, "request": "query"}
                self.send(role, "GET", f"{url}?{_encode([(key, value)])}", note=note)
                if others and label in SAMPLE:
                    query = _encode([*others, (key, value)])
                    self.send(role, "GET", f"{url}?{query}", note={**note, "request": "query+"})
            twice = _encode([*others, (key, "1"), (key, "²")])
            self.send(role, "GET", f"{url}?{twice}", note={"field": key, "value": "twice"})
        # Every form field, the others valid; then missing, then given twice. One row of
        # an inline formset stands for the others (they stay in, valid).
        admin = route.route.startswith("admin/")
        for key in sorted(fields):
            if re.search(r"-[1-9]\d*-", key) or admin and ADMIN_CONTROLS.match(key):
                continue
            for label, value in values:
                body = _encode(_pairs(fields, {key: [value]}))
                note = {"field": key, "value": label, "request": "form"}
                self.send(role, "POST", url, body=body, note=note)
            body = _encode(_pairs(fields, {key: []}))
            self.send(role, "POST", url, body=body, note={"field": key, "value": "absent"})
            body = _encode(_pairs(fields, {key: [*fields[key], "²", "a\x00b"]}))
            self.send(role, "POST", url, body=body, note={"field": key, "value": "twice"})


def _pairs(fields: dict, changed: dict | None = None) -> list:
    changed = changed or {}
    return [(k, v) for k, values in fields.items() for v in changed.get(k, values)]


def _refused(response) -> bool:
    location = response.get("Location", "") if response.status_code == 302 else ""
    return response.status_code == 403 or "login/?next=" in location


def _encode(pairs) -> str:
    def one(value):
        if isinstance(value, Raw):
            return str(value)
        return urllib.parse.quote(str(value), safe="")

    return "&".join(f"{one(k)}={one(v)}" for k, v in pairs)


def _frames(tb):
    while tb is not None:
        yield tb.tb_frame
        tb = tb.tb_next


ROOT = Path(__file__).resolve().parents[2]


def _in_project(filename: str) -> bool:
    path = Path(filename).resolve()
    return ROOT in path.parents and ".venv" not in path.parts and "tests" not in path.parts


def _short(filename: str) -> str:
    try:
        return str(Path(filename).resolve().relative_to(ROOT))
    except ValueError:
        return filename


def _shorten(text: str, limit: int = 200) -> str:
    text = re.sub(r"x{50,}", "x…(1 MB)", text)
    return text if len(text) <= limit else text[:limit] + "…"


# ---------------------------------------------------------------- the reader report API

VITALE = "3B 75 13 00 00 47 09 EA 90 00"


def valid_report(hostname: str) -> dict:
    return {
        "schema": "julieops-readers/1",
        # Fresh: the API refuses a report generated far from its arrival (issue 12).
        "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": {"hostname": hostname, "platform": "Windows-10-10.0.19045"},
        "pcsc": {
            "status": "ok",
            "message": "2 lecteurs",
            "readers": [
                {
                    "name": "Lecteur A",
                    "state": ["present"],
                    "atr": VITALE,
                    "card": "vitale",
                    "label": "Carte Vitale",
                    "descriptions": ["Carte Vitale 2"],
                },
                {
                    "name": "Lecteur B",
                    "state": ["empty"],
                    "atr": None,
                    "card": None,
                    "label": None,
                    "descriptions": [],
                },
            ],
        },
        "galss": {
            "path": "C:\\Windows\\galss.ini",
            "mode": "pss",
            "channels": [
                {
                    "index": 1,
                    "kind": "pss",
                    "com_port": 12,
                    "reader_name": "Lecteur A",
                    "library": "PSSINW32",
                    "lads": ["CPS"],
                }
            ],
            "problems": ["com_absent"],
            "messages": [{"code": "com_absent", "message": "COM12 absent"}],
        },
        "windows_ga_files": ["galss.ini"],
        "galss_installed": True,
    }


JSON_HOSTILE = [
    ("list", []),
    ("dict", {}),
    ("list of text", ["a"]),
    ("list of list", [[]]),
    ("list of dict", [{}]),
    ("dict of int", {"a": 1}),
    ("null", None),
    ("true", True),
    ("zero", 0),
    ("negative", -1),
    ("2**63", 2**63),
    ("10**20", 10**20),
    ("-2**63-1", -(2**63) - 1),
    ("decimal", 1.5),
    ("1e308", 1e308),
    ("superscript digit", "²"),
    ("empty", ""),
    ("spaces", "   "),
    ("NUL", "a\x00b"),
    ("lone surrogate", "\ud800"),
    ("long text", "x" * 600),
    ("far date", "9999-12-31T23:59:59-05:00"),
    ("far past", "0001-01-01T00:00:00+14:00"),
    ("invalid date", "2026-02-30T00:00:00Z"),
    ("naive date", "2026-05-01T09:30:00"),
    ("not a date", "pas une date"),
    ("a reader state", "present"),
    ("a card", "vitale"),
    ("a mode", "pss"),
]


def json_paths(value, path=()):
    yield path
    if isinstance(value, dict):
        for key, item in value.items():
            yield from json_paths(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from json_paths(item, (*path, index))


def _at(document, path):
    for step in path:
        document = document[step]
    return document


def replaced(document, path, value, *, delete=False):
    document = json.loads(json.dumps(document))
    if not path:
        return value
    parent = document
    for step in path[:-1]:
        parent = parent[step]
    if delete:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return document


# ---------------------------------------------------------------- fixtures and tests


@pytest.fixture(scope="module")
def fuzzer(django_db_setup, django_db_blocker, tmp_path_factory, pytestconfig):
    """One full job for the whole module, in a transaction rolled back at its end."""
    root = tmp_path_factory.mktemp("fuzz")
    storages = {
        **settings.STORAGES,
        "default": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(root / "media")},
        },
    }

    def media():
        return override_settings(STORAGES=storages)

    # Log-in attempts hash a password each: the fast hasher keeps them at a millisecond.
    fast = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])

    def keep(sender, request=None, **kwargs):
        fuzz.exceptions.append(sys.exc_info())

    with django_db_blocker.unblock(), media(), fast, _plain_templates(), transaction.atomic():
        User = get_user_model()
        users = {}
        for name in ROLES[1:]:
            user = User.objects.create_user(username=name, password=PASSWORD)
            if name in ROLE_GROUPS:
                user.groups.add(Group.objects.get(name=ROLE_GROUPS[name]))
            users[name] = user
        users["root"].is_staff = users["root"].is_superuser = True
        users["root"].save()
        practice = make_practice(root)
        job = actions.create_job(
            users["alice"],
            customer=practice.customer,
            site=practice.site,
            source=practice.source,
            target=practice.target,
            clients=[practice.client],
            title="Migration fuzz",
        )
        world = make_world(job, users["alice"])
        # The agent runs on a client post: the job page shows its readers too.
        _token, value = AgentToken.issue(practice.client, users["alice"])
        practice.customer.cabinets.create(name="Cabinet 1", ps_number="12345678")
        fuzz = Fuzzer(world, users, value, media)
        got_request_exception.connect(keep, weak=False)
        logger_levels = _quiet()
        started = time.monotonic()
        try:
            fuzz.crawl()
            yield fuzz
        finally:
            got_request_exception.disconnect(keep)
            _quiet(logger_levels)
            transaction.set_rollback(True)
            _summary(fuzz, time.monotonic() - started, pytestconfig)
        # Issue 12: at least 20,000 requests once every role went through every route. Checked
        # here, at the module's end, because the total means nothing when pytest ran part of it.
        if fuzz.roles_done >= set(ROLES):
            total = sum(fuzz.requests.values())
            assert total >= MIN_REQUESTS, f"{total} requests only: {dict(fuzz.requests)}"


@contextlib.contextmanager
def _plain_templates():
    """The test environment copies every template context for `response.context`; the
    fuzzer reads none, and the copies cost a third of its time."""
    from django.template import Template

    instrumented = Template._render
    Template._render = lambda self, context: self.nodelist.render(context)  # Django's own
    try:
        yield
    finally:
        Template._render = instrumented


def _quiet(levels=None):
    """Django logs each 500 with its traceback (and a 1 MB value): not here."""
    import logging

    names = ("django.request", "django.security", "django.server", "migrations_app", "readers")
    if levels is None:
        levels = {n: logging.getLogger(n).level for n in names}
        for n in names:
            logging.getLogger(n).setLevel(logging.CRITICAL + 1)
        return levels
    for n, level in levels.items():
        logging.getLogger(n).setLevel(level)
    return levels


def grouped(failures):
    groups = defaultdict(list)
    for f in failures:
        groups[(f["exception"], f["view"], f["where"])].append(f)
    return groups


def describe(failures, limit=None) -> str:
    lines = []
    for (exc, view, where), items in sorted(grouped(failures).items(), key=lambda kv: kv[0]):
        fields = sorted({f"{i['field']}={i['value']}" for i in items})
        lines.append(
            f"{len(items):5d} × {exc} in {view} at {where or '?'}: {items[0]['message']}\n"
            f"        e.g. {items[0]['role']} {items[0]['method']} {items[0]['url']}\n"
            f"        fields/values: {', '.join(fields[:12])}{' …' if len(fields) > 12 else ''}"
        )
    if limit:
        lines = lines[:limit]
    return "\n".join(lines)


def _summary(fuzz, seconds, config):
    total = sum(fuzz.requests.values())
    text = (
        f"fuzz: {total} requests ({dict(fuzz.requests)}), {fuzz.pages} pages crawled, "
        f"{len(fuzz.failures)} answered 500, on {connection.vendor}, in {seconds:.0f} s\n"
        + describe(fuzz.failures)
        + "\nbusiest views: "
        + ", ".join(f"{k} {fuzz.by_view[k]} ({t:.0f} s)" for k, t in fuzz.view_time.most_common(25))
    )
    report = os.environ.get("JULIEOPS_FUZZ_REPORT")
    if report:
        with open(report, "w", encoding="utf-8") as out:
            out.write(text + "\n\nEvery 500:\n")
            for f in fuzz.failures:
                out.write(json.dumps(f, ensure_ascii=False) + "\n")
    terminal = config.pluginmanager.get_plugin("terminalreporter")
    if terminal is not None:
        terminal.write_line("")
        for line in text.splitlines():
            terminal.write_line(line)


@pytest.fixture
def fuzz(fuzzer):
    with fuzzer.media():  # the test's own storage (tests/conftest.py) would hide the evidence
        yield fuzzer


def test_it_finds_the_views_reads_and_the_pages_fields(fuzz):
    """The discovery itself: what issue 12 found must be in what the fuzzer sends."""
    by_name = {r.name: r for r in fuzz.routes}
    assert {"job", "category", "page"} <= fuzz.query_keys(by_name["audit_list"])
    assert {"customer", "job", "q", "format"} <= fuzz.query_keys(by_name["incident_list"])
    assert {"step", "run"} <= fuzz.query_keys(by_name["job_detail"])
    assert "site" in fuzz.query_keys(by_name["job_create"])
    assert "since" in fuzz.query_keys(by_name["machine_detail"])
    assert {"note", "run"} <= set(fuzz.form_fields(by_name["step_action"]))
    assert {"text", "evidence", "resolution"} <= set(fuzz.form_fields(by_name["incident_action"]))
    assert {"name", "licence_number"} <= set(fuzz.form_fields(by_name["customer_edit"]))
    actions_found = {t.values["action"] for t in fuzz.targets(by_name["step_action"])}
    assert {"tick", "cancel", "run", "skip", "reopen"} <= actions_found
    assert {t.values["action"] for t in fuzz.targets(by_name["incident_action"])} >= {
        "note",
        "link",
        "close",
    }
    assert len(fuzz.routes) >= 100  # the admin's included


@pytest.mark.timeout(1800)
@pytest.mark.parametrize("role", ROLES)
def test_no_url_answers_500_to_hostile_input(fuzz, role):
    start = len(fuzz.failures)
    for route in fuzz.routes:
        fuzz.fuzz_route(role, route)
    fuzz.roles_done.add(role)
    found = fuzz.failures[start:]
    assert not found, f"{len(found)} answers 500 as {role}:\n{describe(found)}"


@pytest.mark.timeout(900)
def test_the_reader_report_api_never_answers_500(fuzz):
    url = "/api/readers/report/"
    bearer = {"Authorization": f"Bearer {fuzz.token_value}"}
    post_machine = fuzz.world.job.clients.get()
    good = valid_report(post_machine.hostname)
    witnesses = [fuzz.world.job.get_absolute_url(), post_machine.get_absolute_url()]
    start = len(fuzz.failures)

    def post(document=None, *, raw=None, headers=None, note):
        body = raw if raw is not None else json.dumps(document).encode()
        with transaction.atomic():
            response = fuzz._one(
                fuzz.clients["anonymous"],
                "api",
                "POST",
                url,
                body,
                "application/json",
                {**bearer, **(headers or {})},
                note,
            )
            if response.status_code == 201:  # stored: the pages that show it must still work
                for page in witnesses:
                    fuzz._one(fuzz.clients["bob"], "bob", "GET", page, b"", FORM, None, note, True)
            transaction.set_rollback(True)
        return response

    assert post(good, note={"request": "valid"}).status_code == 201
    for path in list(json_paths(good)):
        where = ".".join(map(str, path)) or "<report>"
        for label, value in JSON_HOSTILE:
            post(replaced(good, path, value), note={"field": where, "value": label})
        if path:
            post(replaced(good, path, None, delete=True), note={"field": where, "value": "absent"})
        if isinstance(_at(good, path), dict):
            for key in ("inconnu", "²", "a\x00b"):
                extra = replaced(good, (*path, key), "x")
                post(extra, note={"field": where, "value": f"extra key {key!r}"})
    raw_bodies = [
        ("invalid JSON", b"{"),
        ("NaN", json.dumps({**good, "galss_installed": None}).replace("null", "NaN").encode()),
        ("deep nesting", b"[" * 100_000 + b"]" * 100_000),
        ("invalid UTF-8", b'{"schema": "\xff"}'),
        (
            "UTF-8 surrogate",
            json.dumps(good).replace("Lecteur A", "\ud800").encode("utf-8", "surrogatepass"),
        ),
        ("BOM", b"\xef\xbb\xbf" + json.dumps(good).encode()),
        ("too large", json.dumps({**good, "pcsc": {"message": "x" * 300_000}}).encode()),
        ("empty", b""),
        ("spaces", b"   "),
        ("a list", b"[]"),
        ("a string", b'"x"'),
        ("a number", b"1"),
    ]
    for label, raw in raw_bodies:
        post(raw=raw, note={"field": "<body>", "value": label})
    for header, values in (
        ("Content-Length", ["²", "-1", str(10**20), "", " 12", "1e3", "0"]),
        ("Content-Type", ["", "text/plain", "application/json; charset=latin-1", "²"]),
        (
            "Authorization",
            ["", "Bearer", "Bearer ²", "Bearer a\x00b", "Basic x", "Bearer " + "x" * 10_000],
        ),
    ):
        for value in values:
            note = {"field": f"<header {header}>", "value": repr(value)[:40]}
            with contextlib.suppress(ValueError, TypeError):  # the client refuses the header
                post(good, headers={header: value}, note=note)
    found = fuzz.failures[start:]
    assert not found, f"{len(found)} answers 500 from the readers API:\n{describe(found)}"
