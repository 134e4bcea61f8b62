"""Every URL under /o/<slug>/ answers 404 to a member of another organization.

The URL patterns are enumerated from the resolver, so views added later are covered
without editing this test.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from django.apps import apps
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from alerts_saas.audit.models import Entry
from alerts_saas.ingest.models import ApiToken, Scope
from tests.tenant_objects import populate

TENANT_PREFIX = "o/<slug:slug>/"


@dataclass
class Route:
    route: str
    name: str
    callback: object
    converters: dict[str, str]


def _walk(patterns: list, prefix: str = "") -> list[Route]:
    routes: list[Route] = []
    for p in patterns:
        route = prefix + str(p.pattern)
        if isinstance(p, URLResolver):
            routes += _walk(p.url_patterns, route)
        elif isinstance(p, URLPattern):
            converters = {
                name: conv.__class__.__name__
                for name, conv in getattr(p.pattern, "converters", {}).items()
            }
            routes.append(Route(route, p.name or "", p.callback, converters))
    return routes


def tenant_routes() -> list[Route]:
    routes: list[Route] = []
    for r in _walk(get_resolver().url_patterns):
        if r.route.startswith(TENANT_PREFIX):
            # Converters of the enclosing include are not on the leaf pattern; read them
            # from the route text instead.
            r.converters = dict(_converters_in(r.route))
            routes.append(r)
    return routes


def _converters_in(route: str) -> list[tuple[str, str]]:
    import re

    return [(name, conv) for conv, name in re.findall(r"<(?:(\w+):)?(\w+)>", route)]


# Object kwargs named other than <model>_id: the API's `service_id` is a PagerDutyService
# (`pagerduty_service_id` would read as PagerDuty's own "P..." id, a field of the service).
KWARG_MODELS = {"service": "pagerdutyservice"}


def _model_for(kwarg: str):
    assert kwarg.endswith("_id"), f"URL kwarg {kwarg!r}: name object kwargs <model>_id"
    wanted = kwarg[: -len("_id")].replace("_", "")
    wanted = KWARG_MODELS.get(wanted, wanted)
    for model in apps.get_models():
        if model._meta.model_name == wanted:
            return model
    raise AssertionError(f"URL kwarg {kwarg!r} names no model ({wanted!r})")


def _url(route: str, slug: str, objects: dict) -> str:
    path = route
    for name, _conv in _converters_in(route):
        if name == "slug":
            value = slug
        else:
            model = _model_for(name)
            obj = objects.get(model._meta.model_name)
            assert obj is not None, (
                f"No {model._meta.label} for {name!r}: add a maker to tests/tenant_objects.py"
            )
            value = obj.pk
        path = path.replace(f"<{_conv + ':' if _conv else ''}{name}>", str(value))
    return "/" + path


@pytest.fixture
def two_tenants(make_org, make_user):
    owner_a = make_user("owner-a@example.com")
    org_a = make_org("Org A", owner=owner_a)
    objects_a = populate(org_a, owner_a)
    outsider = make_user("owner-b@example.com")
    org_b = make_org("Org B", owner=outsider)
    return org_a, objects_a, org_b, outsider


def _row_counts() -> dict[str, int]:
    return {
        m._meta.label: m.objects.count()
        for m in apps.get_models()
        if m._meta.app_label not in {"sessions", "admin", "contenttypes", "auth"}
    }


def test_tenant_routes_are_found_and_all_use_the_access_function() -> None:
    routes = tenant_routes()
    assert len(routes) >= 5
    for r in routes:
        assert hasattr(r.callback, "tenant_min_role"), (
            f"/{r.route} ({r.name}) does not go through accounts.access.tenant_view"
        )


@pytest.mark.django_db
def test_every_tenant_url_is_404_for_a_member_of_another_organization(two_tenants) -> None:
    org_a, objects_a, org_b, outsider = two_tenants
    client = Client()
    client.force_login(outsider)
    before = _row_counts()
    checked = []
    for r in tenant_routes():
        # The other organization's slug with its object ids: always 404, whatever the method.
        url = _url(r.route, org_a.slug, objects_a)
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            assert response.status_code == 404, (
                f"{method.upper()} {url} ({r.name}) answered {response.status_code}"
            )
            checked.append((method, url))
        # The outsider's own slug with the other organization's object ids: 404 for every
        # method the view accepts (405 for the others says nothing about the object).
        if set(n for n, _ in _converters_in(r.route)) - {"slug"}:
            url = _url(r.route, org_b.slug, objects_a)
            answers = {m: getattr(client, m)(url).status_code for m in ("get", "post")}
            assert set(answers.values()) <= {404, 405} and 404 in answers.values(), (
                f"{url} ({r.name}) answered {answers}"
            )
            checked.append(("own-slug", url))
    assert _row_counts() == before, "a refused request changed data"
    assert len(checked) >= 10


@pytest.mark.django_db
def test_unknown_slugs_and_ids_are_404_pages(two_tenants, client) -> None:
    _org_a, _objects_a, org_b, outsider = two_tenants
    client.force_login(outsider)
    for url in (
        "/o/no-such-org/",
        f"/o/{org_b.slug}/settings/members/999999/remove/",
        "/invitations/not-a-real-token/",
        "/o/%20/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert b"<html" in response.content


@pytest.mark.django_db
def test_anonymous_visitors_are_sent_to_sign_in(two_tenants, client) -> None:
    org_a, *_ = two_tenants
    response = client.get(f"/o/{org_a.slug}/settings/members/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- The management API (/api/v1/) -------------------------------------------------------

# A body each changing operation takes as well formed, so that what answers is the lookup
# of the other organization's id, not the body's check.
WALK_BODIES = {
    "put": {"name": "x", "condition": {"threshold": 1, "window_minutes": 5}, "targets": []},
    "patch": {"description": "x"},
    "post": {"value": "x"},  # stop-watching's body; the other POSTs with an id take none
}


@pytest.mark.django_db
def test_every_api_operation_is_404_for_another_organizations_ids(two_tenants) -> None:
    """Each operation of the served document that names an object answers 404 to another
    organization's read-and-write token, changing nothing; each list shows it nothing."""
    from tests.api_client import Api

    org_a, objects_a, org_b, _outsider = two_tenants
    api = Api(ApiToken.issue(org_b, "walker", scope=Scope.WRITE)[1])
    paths = Client().get("/api/v1/openapi.json").json()["paths"]
    before = _row_counts()
    checked = []
    for path, item in paths.items():
        route = path.removeprefix("/api/v1").replace("{", "<").replace("}", ">")
        for method, operation in item.items():
            if "ApiToken" not in str(operation.get("security")):
                continue  # the ingest API: its key names the organization, no ids
            if "<" not in route:
                if method == "get":
                    listed = api.get(route.replace("<", "{"), status=200).json()
                    if route == "/activity":  # B's own log (its token, its members): B's only
                        assert listed["count"] == Entry.objects.filter(organization=org_b).count()
                        assert org_a.name not in str(listed), path
                    else:
                        assert listed["count"] == 0 and listed["items"] == [], path
                    checked.append((method, path))
                continue
            url = _url(route.lstrip("/"), org_b.slug, objects_a)
            response = api.call(method, url, WALK_BODIES.get(method))
            assert response.status_code == 404, f"{method.upper()} {url}: {response.content}"
            checked.append((method, path))
    assert _row_counts() == before, "a refused request changed data"
    assert {m for m, _ in checked} >= {"get", "post", "put", "patch", "delete"}
    assert len(checked) >= 12
