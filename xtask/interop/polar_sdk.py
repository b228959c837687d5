"""Drives a running `tessera serve` with Polar's official Python SDK (polar-sdk==1.0.2, API
version 2026-10), as a Polar user would: `Polar(<access token>, base_url=<tessera>)`, the project
secret standing for Polar's organization access token.

Run by `cargo xtask interop`, which starts the server and passes:
  TESSERA_URL, TESSERA_PROJECT_ID, TESSERA_SECRET.
Every response must load into the SDK's own models (`polar.deserialize`, which the SDK's methods
use), and carry exactly the fields those models declare; any exception fails the run.
Organizations and members are made through Tessera's Stytch-compatible routes (Polar's
customers and members are not Tessera's to create through Polar's API). `POST
/v1/member-sessions/` left Polar's API (and the SDK) in 2026-03: it is called over plain HTTP.
Prints one line per check and a final `N passed, 0 failed` line.
"""

import base64
import dataclasses
import json
import os
import sys
import urllib.error
import urllib.request
import uuid

from polar import PolarClientError, deserialize
from polar.v2026_10 import Polar
from polar.v2026_10.errors import HTTPValidationError
from polar.v2026_10.outputs import (
    CustomerCustomerSession,
    CustomerSession,
    CustomerTeam,
    Member,
    PortalAuthenticatedUser,
    Unauthorized,
)

URL = os.environ["TESSERA_URL"].rstrip("/")
PROJECT_ID = os.environ["TESSERA_PROJECT_ID"]
SECRET = os.environ["TESSERA_SECRET"]
BASIC = "Basic " + base64.b64encode(f"{PROJECT_ID}:{SECRET}".encode()).decode()

polar = Polar(SECRET, base_url=URL)
passed = 0


def check(name, condition=True):
    global passed
    if not condition:
        raise AssertionError(name)
    passed += 1
    print(f"ok - {name}")


def raw(method, path, body=None, authorization=BASIC):
    """Plain HTTP: (status, parsed JSON body)."""
    request = urllib.request.Request(
        URL + path,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": authorization},
        method=method,
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def fields(model):
    return {f.name for f in dataclasses.fields(model)}


def loads_exactly(name, data, model):
    """`data` loads into `model` and has exactly its fields."""
    loaded = deserialize(data, model)
    missing, extra = fields(model) - set(data), set(data) - fields(model)
    check(f"{name} loads into {model.__name__} with exactly its fields",
          isinstance(loaded, model) and not missing and not extra)
    return loaded


def portal(token):
    return Polar(token, base_url=URL).customer_portal.customer_session


def expect_401(name, call):
    try:
        call()
    except PolarClientError as error:
        body = deserialize(json.loads(error.error), Unauthorized)
        check(f"{name} -> PolarClientError 401, body loads into Unauthorized",
              error.status_code == 401 and body.error == "Unauthorized" and body.detail)
        return
    raise AssertionError(f"{name}: expected a 401, got success")


def expect_validation_error(name, loc, error_type, **create):
    try:
        polar.customer_sessions.create(**create)
    except HTTPValidationError as error:
        detail = error.error.detail
        check(f"{name} -> HTTPValidationError at {'.'.join(loc)} ({error_type})",
              error.status_code == 422 and len(detail) == 1 and detail[0].loc == loc
              and detail[0].type == error_type and detail[0].msg)
        return
    raise AssertionError(f"{name}: expected HTTPValidationError, got success")


def stytch(method, path, body=None):
    status, answer = raw(method, path, body)
    assert status == 200, (path, status, answer)
    return answer


suffix = uuid.uuid4().hex[:8]
acme = stytch("POST", "/v1/b2b/organizations", {
    "organization_name": "Acme", "organization_slug": f"acme-{suffix}",
    "organization_external_id": f"crm-acme-{suffix}", "email": f"billing-{suffix}@acme.example",
    "trusted_metadata": {"plan": "pro", "seats": 5, "beta": True, "nested": {"dropped": 1}},
})["organization"]
acme_id = acme["organization_id"]
owner = stytch("POST", f"/v1/b2b/organizations/{acme_id}/members", {
    "email_address": f"olga-{suffix}@acme.example", "name": "Olga", "roles": ["tessera_admin"],
})["member"]
ada = stytch("POST", f"/v1/b2b/organizations/{acme_id}/members", {
    "email_address": f"ada+{suffix}@acme.example", "external_id": f"crm-ada-{suffix}",
})["member"]
globex = stytch("POST", "/v1/b2b/organizations", {
    "organization_name": "Globex", "organization_slug": f"globex-{suffix}",
})["organization"]
bob = stytch("POST", f"/v1/b2b/organizations/{globex['organization_id']}/members", {
    "email_address": f"bob-{suffix}@globex.example", "roles": ["tessera_admin"],
})["member"]
ownerless = stytch("POST", "/v1/b2b/organizations", {
    "organization_name": "Ownerless", "organization_slug": f"ownerless-{suffix}",
})["organization"]
stytch("POST", f"/v1/b2b/organizations/{ownerless['organization_id']}/members",
       {"email_address": f"nobody-{suffix}@ownerless.example"})

# Customer sessions through the SDK.
session = polar.customer_sessions.create(customer_id=acme_id, return_url="https://app.example/back")
check("customer_sessions.create(customer_id) returns a CustomerSession of a CustomerTeam",
      isinstance(session, CustomerSession) and isinstance(session.customer, CustomerTeam)
      and session.customer_id == acme_id and session.customer.external_id == f"crm-acme-{suffix}")
check("the customer's unknowable fields are null",
      all(getattr(session.customer, f) is None for f in [
          "billing_name", "billing_address", "tax_id", "locale", "default_payment_method_id",
          "deleted_at", "first_user_event_at", "avatar_url"]))
check("the customer's metadata keeps its scalar entries",
      session.customer.metadata == {"plan": "pro", "seats": 5, "beta": True})
user = portal(session.token).get_authenticated_user()
check("without a member, the session is the owner's (get_authenticated_user)",
      isinstance(user, PortalAuthenticatedUser) and user.type == "member"
      and user.member_id == owner["member_id"] and user.role == "owner"
      and user.customer_id == acme_id and user.name == "Olga")
introspection = portal(session.token).introspect()
check("customer_portal.customer_session.introspect returns a CustomerCustomerSession",
      isinstance(introspection, CustomerCustomerSession)
      and introspection.expires_at == session.expires_at
      and introspection.return_url == "https://app.example/back")
check("customer_portal_url carries the token", session.token in session.customer_portal_url)

named = polar.customer_sessions.create(customer_id=acme_id, member_id=ada["member_id"])
user = portal(named.token).get_authenticated_user()
check("customer_sessions.create(customer_id, member_id) is that member's",
      user.member_id == ada["member_id"] and user.role == "member" and named.return_url is None)
by_external = polar.customer_sessions.create(
    external_customer_id=f"crm-acme-{suffix}", external_member_id=f"crm-ada-{suffix}")
check("customer_sessions.create(external_customer_id, external_member_id) is that member's",
      portal(by_external.token).get_authenticated_user().member_id == ada["member_id"])

# Every field of every model, on the raw answers.
status, body = raw("POST", "/v1/customer-sessions/", {"customer_id": acme_id, "member_id": ada["member_id"]},
                   authorization=f"Bearer {SECRET}")
check("POST /v1/customer-sessions/ answers 201", status == 201)
loads_exactly("customer session", body, CustomerSession)
loads_exactly("customer session's customer", body["customer"], CustomerTeam)
token = body["token"]
_, body = raw("GET", "/v1/customer-portal/customer-session/introspect", authorization=f"Bearer {token}")
loads_exactly("introspect", body, CustomerCustomerSession)
_, body = raw("GET", "/v1/customer-portal/customer-session/user", authorization=f"Bearer {token}")
loads_exactly("user", body, PortalAuthenticatedUser)

# The member session (no SDK method since Polar removed the route).
status, body = raw("POST", "/v1/member-sessions/", {"member_id": ada["member_id"]})
seed = {"id", "token", "expires_at", "return_url", "member_portal_url", "member_id", "member",
        "customer_id", "customer", "created_at", "modified_at"}
check("POST /v1/member-sessions/ answers 201 with the seed's eleven fields",
      status == 201 and set(body) == seed)
loads_exactly("member session's member", body["member"], Member)
loads_exactly("member session's customer", body["customer"], CustomerTeam)
member_token = body["token"]
check("the member-session token works with the SDK's portal client",
      portal(member_token).get_authenticated_user().member_id == ada["member_id"])

# Errors, as the SDK raises them.
expect_validation_error("unknown customer_id", ["body", "customer_id"], "organization_not_found",
                        customer_id=str(uuid.uuid4()))
expect_validation_error("unknown external_customer_id", ["body", "external_customer_id"],
                        "organization_not_found", external_customer_id=f"crm-nobody-{suffix}")
expect_validation_error("a member of another organization", ["body", "member_id"],
                        "member_not_found", customer_id=acme_id, member_id=bob["member_id"])
expect_validation_error("an organization without an owner", ["body", "member_id"],
                        "no_owner_member", customer_id=ownerless["organization_id"])
expect_validation_error("a bad return_url", ["body", "return_url"], "invalid_request",
                        customer_id=acme_id, return_url="javascript:alert(1)")
expect_401("customer_sessions.create with a wrong access token",
           lambda: Polar("polar_oat_wrong", base_url=URL).customer_sessions.create(customer_id=acme_id))

stytch("POST", "/v1/b2b/sessions/revoke", {"session_token": session.token})
expect_401("introspect with a revoked token", lambda: portal(session.token).introspect())
expect_401("get_authenticated_user with a revoked token",
           lambda: portal(session.token).get_authenticated_user())
stytch("DELETE", f"/v1/b2b/organizations/{acme_id}/members/{ada['member_id']}")
expect_401("introspect after the member was deleted", lambda: portal(named.token).introspect())
expect_401("introspect with a member-session token of a deleted member",
           lambda: portal(member_token).introspect())
expect_401("introspect with an unknown token", lambda: portal("tsr_mst_" + "x" * 43).introspect())
expect_401("get_authenticated_user with the project secret",
           lambda: portal(SECRET).get_authenticated_user())

print(f"{passed} passed, 0 failed")
sys.exit(0)
