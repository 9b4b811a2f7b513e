#!/usr/bin/python3
"""Checks a Jitsi Meet join link with PyJWT (Debian's python3-jwt), independently of the Rust code
that signed it.

    JITSI_SECRET=... JITSI_APP_ID=... JITSI_DOMAIN=... verify_jitsi_jwt.py URL

The link must be https://DOMAIN/ROOM?jwt=TOKEN[#fragment]. The token must be HS256, signed with
the secret, not expired, and carry iss and aud (the application id), sub (the domain's host),
room (the room of the link's path), exp and context.user with a name and a moderator flag.
Prints the verified claims, the room of the path and the fragment as JSON; exits 1 with the
reason otherwise.
"""
import json
import os
import sys
from urllib.parse import parse_qs, urlsplit

import jwt


def fail(reason):
    print(reason, file=sys.stderr)
    sys.exit(1)


def main():
    if len(sys.argv) != 2:
        fail("usage: verify_jitsi_jwt.py URL")
    secret, app_id, domain = (os.environ[k] for k in ("JITSI_SECRET", "JITSI_APP_ID", "JITSI_DOMAIN"))
    url = urlsplit(sys.argv[1])
    if url.scheme != "https" or url.netloc != domain:
        fail(f"not a link to https://{domain}: {url.scheme}://{url.netloc}")
    path_room = url.path.lstrip("/")
    if not path_room or "/" in path_room:
        fail("the path is not one room name")
    tokens = parse_qs(url.query).get("jwt", [])
    if len(tokens) != 1:
        fail("the link carries no single jwt parameter")
    token = tokens[0]
    if jwt.get_unverified_header(token).get("alg") != "HS256":
        fail("the token is not HS256")
    try:
        claims = jwt.decode(
            token,
            secret,
            algorithms=["HS256"],
            audience=app_id,
            issuer=app_id,
            options={"require": ["iss", "aud", "sub", "room", "exp"]},
        )
    except jwt.InvalidTokenError as e:
        fail(f"rejected: {type(e).__name__}: {e}")
    host = domain.split(":")[0]
    if claims["sub"] != host:
        fail(f"sub is {claims['sub']!r}, not {host!r}")
    if claims["room"] != path_room:
        fail("the token's room is not the room of the link")
    user = claims.get("context", {}).get("user", {})
    if not isinstance(user.get("name"), str) or user.get("moderator") not in ("true", "false"):
        fail("context.user lacks a name or a moderator flag")
    print(json.dumps({"claims": claims, "path_room": path_room, "fragment": url.fragment}))


if __name__ == "__main__":
    main()
