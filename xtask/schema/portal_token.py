"""Makes an organization, a member and a Polar customer session on a running `tessera serve`,
and prints the session's token: the credential of the customer-portal routes for schemathesis.

Environment: TESSERA_URL, TESSERA_PROJECT_ID, TESSERA_SECRET (what `cargo xtask schema` sets).
"""

import base64
import json
import os
import urllib.request

url = os.environ["TESSERA_URL"]
basic = base64.b64encode(
    f"{os.environ['TESSERA_PROJECT_ID']}:{os.environ['TESSERA_SECRET']}".encode()
).decode()


def post(path, body):
    request = urllib.request.Request(
        url + path,
        data=json.dumps(body).encode(),
        headers={"Authorization": f"Basic {basic}", "Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.load(response)


organization = post(
    "/v1/b2b/organizations",
    {"organization_name": "Schema portal", "organization_slug": "schema-portal"},
)["organization"]
member = post(
    f"/v1/b2b/organizations/{organization['organization_id']}/members",
    {"email_address": "portal@example.com"},
)["member"]
session = post(
    "/v1/customer-sessions/",
    {"customer_id": organization["organization_id"], "member_id": member["member_id"]},
)
print(session["token"])
