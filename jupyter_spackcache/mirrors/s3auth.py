"""Signed reads of private S3 buckets: AWS Signature Version 4, credentials from the standard chain.

Public buckets are read anonymously; a private one needs every request signed. The signature
is a pure function of the request, the credentials and the time (:func:`sign_headers`), so it
is tested against the reference signer without any server. Credentials come from where every
AWS tool looks, in the same order: ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` (and
``AWS_SESSION_TOKEN``), else the profile ``AWS_PROFILE`` (default ``default``) of the shared
credentials file (``AWS_SHARED_CREDENTIALS_FILE``, default ``~/.aws/credentials``); the region
from ``AWS_REGION``, ``AWS_DEFAULT_REGION``, the profile in ``~/.aws/config``, else
``us-east-1``. Instance roles and SSO are not consulted.
"""

from __future__ import annotations

import configparser
import datetime
import hashlib
import hmac
import os
import urllib.parse
from collections.abc import Generator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx

UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


@dataclass(frozen=True, slots=True)
class S3Credentials:
    access_key: str
    secret_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)
    region: str = "us-east-1"


def credential_chain(env: Mapping[str, str] | None = None) -> S3Credentials | None:
    """The first credentials the standard chain yields (environment, shared file), or None."""
    env = os.environ if env is None else env
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    profile = env.get("AWS_PROFILE") or "default"
    if not region:
        region = _profile_value(env, "AWS_CONFIG_FILE", "config", profile, "region")
    region = region or "us-east-1"
    key, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if key and secret:
        return S3Credentials(key, secret, env.get("AWS_SESSION_TOKEN") or None, region)
    section = _profile(env, "AWS_SHARED_CREDENTIALS_FILE", "credentials", profile)
    if section and section.get("aws_access_key_id") and section.get("aws_secret_access_key"):
        return S3Credentials(
            section["aws_access_key_id"],
            section["aws_secret_access_key"],
            section.get("aws_session_token") or None,
            region,
        )
    return None


def _profile(
    env: Mapping[str, str], variable: str, name: str, profile: str
) -> Mapping[str, str] | None:
    path = Path(env.get(variable) or Path(env.get("HOME") or Path.home()) / ".aws" / name)
    parser = configparser.RawConfigParser()
    try:
        parser.read(path)
    except configparser.Error:
        return None
    # the config file names sections "profile NAME" (except "default"); credentials "NAME"
    for section in (profile, f"profile {profile}"):
        if parser.has_section(section):
            return dict(parser.items(section))
    return None


def _profile_value(
    env: Mapping[str, str], variable: str, name: str, profile: str, key: str
) -> str | None:
    section = _profile(env, variable, name, profile)
    return section.get(key) if section else None


def _hmac(key: bytes, text: str) -> bytes:
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def _quote(text: str) -> str:
    return urllib.parse.quote(text, safe="-_.~")


def sign_headers(
    method: str,
    url: str,
    headers: Mapping[str, str],
    credentials: S3Credentials,
    now: datetime.datetime,
) -> dict[str, str]:
    """The headers that sign ``method url`` for S3 at ``now`` (UTC): ``x-amz-date``,
    ``x-amz-content-sha256``, maybe ``x-amz-security-token``, and ``Authorization``.

    ``headers`` must hold the ``host`` the request is sent with. The path is signed as sent
    (S3 does not normalise it); the body is not signed (``UNSIGNED-PAYLOAD``, reads only).
    """
    parts = urllib.parse.urlsplit(url)
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    day = stamp[:8]
    signed: dict[str, str] = {
        "host": headers.get("host") or headers.get("Host") or parts.netloc,
        "x-amz-content-sha256": UNSIGNED_PAYLOAD,
        "x-amz-date": stamp,
    }
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    names = ";".join(sorted(signed))
    query = sorted(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    canonical = "\n".join(
        [
            method.upper(),
            parts.path or "/",
            "&".join(f"{_quote(k)}={_quote(v)}" for k, v in query),
            "".join(f"{k}:{signed[k].strip()}\n" for k in sorted(signed)),
            names,
            UNSIGNED_PAYLOAD,
        ]
    )
    scope = f"{day}/{credentials.region}/s3/aws4_request"
    to_sign = "\n".join(
        ["AWS4-HMAC-SHA256", stamp, scope, hashlib.sha256(canonical.encode()).hexdigest()]
    )
    key = _hmac(("AWS4" + credentials.secret_key).encode(), day)
    for part in (credentials.region, "s3", "aws4_request"):
        key = _hmac(key, part)
    signature = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
    out = {k: v for k, v in signed.items() if k != "host"}
    out["Authorization"] = (
        f"AWS4-HMAC-SHA256 Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={names}, Signature={signature}"
    )
    return out


def httpx_s3_auth(credentials: S3Credentials) -> httpx.Auth:
    """An httpx auth that signs each request (and each redirect) when it is sent."""
    import httpx

    class _SigV4(httpx.Auth):
        def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, Any, None]:
            now = datetime.datetime.now(datetime.UTC)
            raw = request.url.raw_path.decode("ascii")
            url = f"{request.url.scheme}://{request.url.netloc.decode('ascii')}{raw}"
            request.headers.update(
                sign_headers(request.method, url, request.headers, credentials, now)
            )
            yield request

    return _SigV4()
