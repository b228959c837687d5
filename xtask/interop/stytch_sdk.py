"""Drives a running `tessera serve` with Stytch's official Python SDK (stytch==15.3.0).

Run by `cargo xtask interop`, which starts the server and passes:
  TESSERA_URL, TESSERA_PROJECT_ID, TESSERA_SECRET.
Every response must parse into the SDK's own pydantic models; any exception fails the run.
Prints one line per check and a final `N passed, 0 failed` line.
"""

import json
import os
import sys
import urllib.request
import uuid

import stytch
from stytch.b2b.models.sessions import AuthorizationCheck
from stytch.core.response_base import StytchError

URL = os.environ["TESSERA_URL"].rstrip("/") + "/"
PROJECT_ID = os.environ["TESSERA_PROJECT_ID"]
SECRET = os.environ["TESSERA_SECRET"]

client = stytch.B2BClient(project_id=PROJECT_ID, secret=SECRET, environment=URL)
passed = 0


def check(name, condition=True):
    global passed
    if not condition:
        raise AssertionError(name)
    passed += 1
    print(f"ok - {name}")


def expect_error(name, error_type, call):
    try:
        call()
    except StytchError as error:
        check(f"{name} -> {error.details.error_type}", error.details.error_type == error_type)
        return
    raise AssertionError(f"{name}: expected {error_type}, got success")


def create_session(organization_id, member_id, factors):
    """Tessera's own create route (the SDK has none): plain HTTP with Basic auth."""
    request = urllib.request.Request(
        URL + "v1/b2b/sessions",
        data=json.dumps({
            "organization_id": organization_id,
            "member_id": member_id,
            "authentication_factors": factors,
        }).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    import base64
    credentials = base64.b64encode(f"{PROJECT_ID}:{SECRET}".encode()).decode()
    request.add_header("Authorization", f"Basic {credentials}")
    with urllib.request.urlopen(request) as response:
        return json.load(response)


suffix = uuid.uuid4().hex[:8]

# Organizations: create, get, update, delete.
acme = client.organizations.create(organization_name="Acme", organization_slug=f"acme-{suffix}").organization
check("organizations.create", acme.organization_slug == f"acme-{suffix}")
got = client.organizations.get(organization_id=acme.organization_id).organization
check("organizations.get", got.organization_id == acme.organization_id)
updated = client.organizations.update(organization_id=acme.organization_id, organization_name="Acme 2").organization
check("organizations.update", updated.organization_name == "Acme 2")
globex = client.organizations.create(organization_name="Globex", organization_slug=f"globex-{suffix}").organization
doomed = client.organizations.create(organization_name="Doomed", organization_slug=f"doomed-{suffix}").organization
deleted = client.organizations.delete(organization_id=doomed.organization_id)
check("organizations.delete", deleted.organization_id == doomed.organization_id)
expect_error("organizations.get deleted", "organization_not_found",
             lambda: client.organizations.get(organization_id=doomed.organization_id))

# Members: create, get, update, delete.
ada = client.organizations.members.create(
    organization_id=acme.organization_id, email_address=f"ada-{suffix}@example.com", name="Ada"
).member
check("members.create", ada.email_address == f"ada-{suffix}@example.com")
got = client.organizations.members.get(organization_id=acme.organization_id, email_address=ada.email_address).member
check("members.get by email", got.member_id == ada.member_id)
got = client.organizations.members.get(organization_id=acme.organization_id, member_id=ada.member_id).member
check("members.get by id", got.member_id == ada.member_id)
updated = client.organizations.members.update(
    organization_id=acme.organization_id, member_id=ada.member_id, name="Ada L."
).member
check("members.update", updated.name == "Ada L.")
temp = client.organizations.members.create(organization_id=acme.organization_id, email_address=f"temp-{suffix}@example.com").member
client.organizations.members.delete(organization_id=acme.organization_id, member_id=temp.member_id)
expect_error("members.get deleted", "member_not_found",
             lambda: client.organizations.members.get(organization_id=acme.organization_id, member_id=temp.member_id))
client.organizations.members.create(organization_id=globex.organization_id, email_address=ada.email_address)

# Sessions.
# The magic link names the address it proved, so the factor carries over the exchange below.
magic_link = {"type": "magic_link", "delivery_method": "email",
              "email_factor": {"email_id": "email-1", "email_address": ada.email_address}}
created = create_session(acme.organization_id, ada.member_id, [magic_link])
token = created["session_token"]

auth = client.sessions.authenticate(
    session_token=token,
    session_duration_minutes=120,
    session_custom_claims={"plan": "pro"},
    authorization_check={"organization_id": acme.organization_id, "resource_id": "tessera.self", "action": "read"},
)
check("sessions.authenticate with extension, claims and authorization check",
      auth.member_session.custom_claims.get("plan") == "pro" and auth.verdict is not None and auth.verdict.authorized)
jwt = auth.session_jwt

sessions = client.sessions.get(organization_id=acme.organization_id, member_id=ada.member_id)
check("sessions.get", len(sessions.member_sessions) == 1)

jwks = client.sessions.get_jwks(project_id=PROJECT_ID)
check("sessions.get_jwks", len(jwks.keys) >= 1 and jwks.keys[0].alg == "RS256")

local = client.sessions.authenticate_jwt_local(session_jwt=jwt)
check("sessions.authenticate_jwt_local", local is not None and local.member_session_id == auth.member_session.member_session_id)
check("custom claims survive local verification", local.custom_claims.get("plan") == "pro")
local = client.sessions.authenticate_jwt_local(
    session_jwt=jwt,
    authorization_check=AuthorizationCheck(
        organization_id=acme.organization_id, resource_id="tessera.self", action="read"
    ),
)
check("sessions.authenticate_jwt_local with authorization_check", local is not None)

remote = client.sessions.authenticate(session_jwt=jwt)
check("sessions.authenticate with session_jwt", remote.member_session.member_session_id == auth.member_session.member_session_id)

exchanged = client.sessions.exchange(organization_id=globex.organization_id, session_token=token)
check("sessions.exchange", exchanged.member_authenticated and exchanged.organization.organization_id == globex.organization_id)
expect_error("old session after exchange", "session_not_found", lambda: client.sessions.authenticate(session_token=token))

client.sessions.revoke(session_token=exchanged.session_token)
expect_error("revoked session", "session_not_found",
             lambda: client.sessions.authenticate(session_token=exchanged.session_token))

second = create_session(acme.organization_id, ada.member_id, [{"type": "password", "delivery_method": "knowledge"}])
client.sessions.revoke(member_session_id=second["member_session"]["member_session_id"])
expect_error("revoked by id", "session_not_found",
             lambda: client.sessions.authenticate(session_token=second["session_token"]))
third = create_session(acme.organization_id, ada.member_id, [])
client.sessions.revoke(member_id=ada.member_id)
expect_error("revoked by member", "session_not_found",
             lambda: client.sessions.authenticate(session_token=third["session_token"]))

print(f"{passed} passed, 0 failed")
sys.exit(0)
