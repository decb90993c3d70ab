"""Spack build caches stored in OCI registries (``oci://`` and ``oci+http://`` mirrors).

Spack pushes one image per spec, tagged ``<name>-<version>-<hash>.spack``: the image config
is an OCI image config merged with the spec-file document, and the last layer is the spec's
own tarball. The binary index is the single layer of the image tagged ``index.spack``.
OCI caches carry no signatures; integrity comes from content digests alone.

:class:`OciClient` speaks the distribution API (manifests, blobs, tags, uploads) with
anonymous bearer tokens; :class:`OciReader` maps that onto the ``MirrorReader`` contract.
"""

from __future__ import annotations

import hashlib
import json
import re
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx

from jupyter_spackcache.errors import IntegrityError, MirrorError, NotFoundError
from jupyter_spackcache.mirrors.auth import Credentials
from jupyter_spackcache.mirrors.base import IndexFetch, SpecRecord, TarballRef, TarballRequest
from jupyter_spackcache.mirrors.failures import (
    HINT_URL,
    exception_error,
    failed_request,
    failed_status,
    status_error,
)
from jupyter_spackcache.mirrors.redirects import hooks
from jupyter_spackcache.mirrors.retry import Retrier, Transient, retrier_for, transient_status
from jupyter_spackcache.mirrors.transport import (
    range_headers,
    ranged_skip,
    read_head_via,
    tls_context,
)

if TYPE_CHECKING:
    from jupyter_spackcache.spec.concrete import ConcreteDAG, ConcreteNode

#: tag of the image whose only layer is the binary index
INDEX_TAG = "index.spack"

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
OCI_INDEX = "application/vnd.oci.image.index.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MANIFEST_TYPES = (OCI_MANIFEST, DOCKER_MANIFEST)
INDEX_TYPES = (OCI_INDEX, DOCKER_LIST)

_TAG_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]")
_DIGEST = re.compile(r"^sha256:[0-9a-f]{64}$")
_CHALLENGE_PARAM = re.compile(r'(\w+)\s*=\s*(?:"([^"]*)"|([^\s,]+))')
_LINK_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


# --------------------------------------------------------------------------- pure helpers


def oci_tag(name: str, version: str, dag_hash: str) -> str:
    """The tag Spack gives the image of one spec (registries allow at most 128 characters)."""
    tag = _TAG_UNSAFE.sub("_", f"{name}-{version}-{dag_hash}.spack")
    return tag[:64] + tag[-64:] if len(tag) > 128 else tag


def digest_hex(digest: str) -> str:
    """The hex part of a ``sha256:<hex>`` digest; anything else is refused."""
    if not _DIGEST.match(digest):
        raise MirrorError(f"unsupported or malformed OCI digest {digest!r}")
    return digest.removeprefix("sha256:")


def sha256_digest(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class OciRepo:
    """Where a repository lives: ``scheme://host/v2/<name>/...``."""

    scheme: str
    host: str
    name: str

    def api(self, *parts: str) -> str:
        return f"{self.scheme}://{self.host}/v2/{self.name}/" + "/".join(parts)


def parse_oci_url(url: str) -> OciRepo:
    """``oci://host[:port]/repo`` (HTTPS) or ``oci+http://host[:port]/repo`` (plain HTTP)."""
    for prefix, scheme in (("oci://", "https"), ("oci+http://", "http")):
        if url.startswith(prefix):
            host, _, name = url[len(prefix) :].strip("/").partition("/")
            if not host or not name:
                break
            # registries reject upper-case repository names; Spack lower-cases them too
            return OciRepo(scheme, host, name.lower())
    raise MirrorError(
        f"not an OCI mirror URL: {url}", hint="write it as oci://HOST/REPO or oci+http://HOST/REPO"
    )


@dataclass(frozen=True, slots=True)
class BearerChallenge:
    realm: str
    service: str | None
    scope: str | None


def parse_challenge(header: str | None) -> BearerChallenge | None:
    """The ``Bearer`` challenge of a ``WWW-Authenticate`` header, if there is one."""
    if not header or not header.strip().lower().startswith("bearer"):
        return None
    params = {k.lower(): q or b for k, q, b in _CHALLENGE_PARAM.findall(header.strip()[6:])}
    if "realm" not in params:
        return None
    return BearerChallenge(params["realm"], params.get("service"), params.get("scope"))


def token_url(challenge: BearerChallenge) -> str:
    query = {k: v for k, v in (("service", challenge.service), ("scope", challenge.scope)) if v}
    sep = "&" if "?" in challenge.realm else "?"
    return challenge.realm + (sep + urllib.parse.urlencode(query) if query else "")


def next_page(link: str | None, current: str) -> str | None:
    """The absolute URL of the ``rel="next"`` page of a paginated listing, if any."""
    match = _LINK_NEXT.search(link or "")
    return urllib.parse.urljoin(current, match.group(1)) if match else None


# --------------------------------------------------------------------------- client


class OciClient:
    """A small distribution-API client: one ``httpx.Client``, anonymous bearer tokens cached.

    Reads (GET, HEAD) go through the client's :class:`~.retry.Retrier`; uploads are sent once.
    """

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        retries: int | None = None,
        retrier: Retrier | None = None,
        credentials: Credentials | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.url = url
        self.repo = parse_oci_url(url)
        #: sent when the registry asks for Basic auth, and to its token service
        self.credentials = credentials
        self._basic = False
        self.retrier = retrier or retrier_for(retries, timeout=timeout)
        self.timeout = self.retrier.policy.timeout
        self._http = httpx.Client(
            timeout=self.timeout,
            follow_redirects=True,
            verify=tls_context(ca_bundle),
            event_hooks=hooks(),
        )
        self._tokens: dict[BearerChallenge, str] = {}
        self._token: str | None = None

    def __enter__(self) -> OciClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- plumbing

    def _send(
        self,
        method: str,
        url: str,
        *,
        headers: dict[str, str] | None = None,
        content: bytes | None = None,
        stream: bool = False,
        kind: str = "manifest",
    ) -> httpx.Response:
        """Send a request; reads are retried on transient failures, uploads are not."""
        if method in ("GET", "HEAD"):
            return self.retrier.call(
                kind, lambda: self._authorized(method, url, headers, content, stream)
            )
        try:
            return self._authorized(method, url, headers, content, stream)
        except Transient as failure:
            raise failure.error from None

    def _authorized(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        content: bytes | None,
        stream: bool,
    ) -> httpx.Response:
        """One attempt; on a Bearer 401, get (or reuse) a token and send it once more."""
        sent = self._token
        response = self._send_once(method, url, headers, content, stream)
        if response.status_code != 401:
            return response
        header = response.headers.get("www-authenticate") or ""
        challenge = parse_challenge(header)
        response.close()
        if challenge is None:
            wants_basic = header.strip().lower().startswith("basic")
            if not wants_basic or self.credentials is None or self._basic:
                return response
            self._basic = True  # a registry behind htpasswd: send the credentials
            return self._send_once(method, url, headers, content, stream)
        cached = self._tokens.get(challenge)
        # a cached token that was just refused has expired: ask for a new one
        self._token = cached if cached and cached != sent else self._fetch_token(challenge)
        self._tokens[challenge] = self._token
        return self._send_once(method, url, headers, content, stream)

    def _send_once(
        self,
        method: str,
        url: str,
        headers: dict[str, str] | None,
        content: bytes | None,
        stream: bool,
    ) -> httpx.Response:
        """One request; :class:`Transient` for a failure that another attempt may cure."""
        all_headers = dict(headers or {})
        if self._token:
            all_headers["Authorization"] = f"Bearer {self._token}"
        elif self._basic and self.credentials is not None:
            all_headers["Authorization"] = self.credentials.header
        request = self._http.build_request(method, url, headers=all_headers, content=content)
        try:
            response = self._http.send(request, stream=stream)
        except httpx.HTTPError as exc:
            raise failed_request(url, exc, timeout=self.timeout) from None
        if transient_status(response.status_code):
            response.close()
            raise failed_status(url, response)
        return response

    def _fetch_token(self, challenge: BearerChallenge) -> str:
        url = token_url(challenge)
        response = self.retrier.call("token", lambda: self._send_token_request(url))
        if response.status_code != 200:
            who = "a token" if self.credentials else "an anonymous token"
            raise MirrorError(
                f"{self.url}: the registry refused {who} (HTTP {response.status_code}"
                f" from {challenge.realm})",
                hint="the repository may be private or misspelled: check `spackcache mirror "
                "list`, and the mirror's `auth` setting or ~/.netrc",
            )
        try:
            body = response.json()
            token = body.get("token") or body.get("access_token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise MirrorError(f"{self.url}: the token service at {challenge.realm} sent no token")
        return token

    def _send_token_request(self, url: str) -> httpx.Response:
        creds = self.credentials
        headers = {"Authorization": creds.header} if creds and creds.username else {}
        try:
            response = self._http.get(url, headers=headers)
        except httpx.HTTPError as exc:
            raise failed_request(url, exc, timeout=self.timeout) from None
        if transient_status(response.status_code):
            raise failed_status(url, response)
        return response

    def _expect(self, response: httpx.Response, *ok: int) -> httpx.Response:
        if response.status_code not in ok:
            response.close()
            raise status_error(str(response.request.url), response.status_code)
        return response

    # -- reading

    def get_manifest(self, ref: str) -> tuple[dict[str, Any], str]:
        """The image manifest for a tag or digest, and its digest."""
        manifest, digest, _ = self.manifest_if_changed(ref)
        assert manifest is not None
        return manifest, digest

    def manifest_if_changed(
        self, ref: str, *, etag: str | None = None
    ) -> tuple[dict[str, Any] | None, str, str | None]:
        """(manifest or None when ``etag`` still matches, digest, etag)."""
        headers = {"Accept": ", ".join(MANIFEST_TYPES + INDEX_TYPES)}
        if etag:
            headers["If-None-Match"] = etag
        url = self.repo.api("manifests", ref)
        response = self._send("GET", url, headers=headers)
        if response.status_code == 304:
            new_etag = response.headers.get("etag") or etag
            return None, response.headers.get("docker-content-digest", ""), new_etag
        if response.status_code == 404:
            raise NotFoundError(f"{self.url}: no image {ref!r} (HTTP 404)", hint=HINT_URL)
        self._expect(response, 200)
        media_type = response.headers.get("content-type", "").split(";")[0].strip()
        if media_type in INDEX_TYPES:
            raise MirrorError(
                f"{self.url}: {ref!r} is a multi-platform image index, not a Spack image"
            )
        digest = sha256_digest(response.content)
        if ref.startswith("sha256:") and ref != digest:
            raise IntegrityError(f"{url}: manifest digest is {digest}, expected {ref}")
        try:
            manifest = json.loads(response.content)
        except ValueError:
            raise MirrorError(f"{url}: manifest is not valid JSON") from None
        if not isinstance(manifest, dict) or not isinstance(manifest.get("layers"), list):
            raise MirrorError(f"{url}: not an image manifest (no layers)")
        return manifest, digest, response.headers.get("etag") or f'"{digest}"'

    def get_blob(self, digest: str, *, kind: str = "metadata") -> bytes:
        """A whole blob, checked against its digest (a blob cut short is read again)."""
        expected = digest_hex(digest)
        url = self.repo.api("blobs", digest)
        response = self._expect(self._send("GET", url, kind=kind), 200)
        actual = hashlib.sha256(response.content).hexdigest()
        if actual != expected:
            raise IntegrityError(
                f"{url}: blob content has sha256 {actual}, expected {expected}",
                hint="the registry returned damaged data; retry later or report it",
            )
        return response.content

    def iter_blob(
        self, digest: str, *, offset: int = 0, chunk_size: int = 1 << 20
    ) -> Iterator[bytes]:
        """Stream a blob from ``offset`` on (unchecked: the caller hashes what it stores)."""
        digest_hex(digest)
        return self._iter_blob(self.repo.api("blobs", digest), offset, chunk_size)

    def _iter_blob(self, url: str, offset: int, chunk_size: int) -> Iterator[bytes]:
        headers = range_headers(offset)
        try:
            response = self._authorized("GET", url, headers, None, True)
        except Transient as failure:
            raise failure.error from None  # the downloader resumes and retries
        self._expect(response, 200, 206)
        skip = ranged_skip(response.status_code, offset)
        try:
            for chunk in response.iter_raw(chunk_size):
                if skip:
                    cut = min(skip, len(chunk))
                    chunk, skip = chunk[cut:], skip - cut
                if chunk:
                    yield chunk
        except httpx.HTTPError as exc:
            raise exception_error(url, exc, timeout=self.timeout) from None
        finally:
            response.close()

    def read_blob_head(self, digest: str, length: int) -> bytes:
        """At most the first ``length`` bytes of a blob (``Range`` requests; unchecked)."""
        digest_hex(digest)
        url = self.repo.api("blobs", digest)

        def send(headers: dict[str, str]) -> httpx.Response:
            return self._authorized("GET", url, headers, None, True)

        return read_head_via(self.retrier, url, length, send, timeout=self.timeout)

    def list_tags(self, *, page_size: int | None = None) -> list[str]:
        """Every tag of the repository, following ``Link: <...>; rel="next"`` pages."""
        url: str | None = self.repo.api("tags", "list")
        if page_size:
            url = f"{url}?n={page_size}"
        tags: list[str] = []
        while url:
            response = self._expect(self._send("GET", url), 200)
            try:
                tags.extend(response.json().get("tags") or [])
            except (ValueError, AttributeError):
                raise MirrorError(f"{url}: tag list is not valid JSON") from None
            url = next_page(response.headers.get("link"), url)
        return sorted(set(tags))

    # -- writing (tests and a later `push`)

    def blob_exists(self, digest: str) -> bool:
        response = self._send("HEAD", self.repo.api("blobs", digest))
        if response.status_code == 404:
            return False
        return self._expect(response, 200).status_code == 200

    def put_blob(self, data: bytes) -> str:
        """Upload ``data`` (monolithic POST + PUT) unless present; return its digest."""
        digest = sha256_digest(data)
        if self.blob_exists(digest):
            return digest
        start = self._expect(self._send("POST", self.repo.api("blobs", "uploads", "")), 202)
        location = urllib.parse.urljoin(str(start.request.url), start.headers["location"])
        sep = "&" if "?" in location else "?"
        target = f"{location}{sep}digest={urllib.parse.quote(digest)}"
        headers = {"Content-Type": "application/octet-stream"}
        self._expect(self._send("PUT", target, headers=headers, content=data), 201)
        return digest

    def put_manifest(self, tag: str, manifest: dict[str, Any]) -> str:
        """Upload an image manifest under ``tag``; return its digest."""
        data = json.dumps(manifest, separators=(",", ":")).encode()
        headers = {"Content-Type": manifest.get("mediaType", OCI_MANIFEST)}
        url = self.repo.api("manifests", tag)
        self._expect(self._send("PUT", url, headers=headers, content=data), 201)
        return sha256_digest(data)


# --------------------------------------------------------------------------- reader


def _last_layer(manifest: dict[str, Any], where: str) -> dict[str, Any]:
    layers = manifest.get("layers") or []
    if not layers or not isinstance(layers[-1], dict) or "digest" not in layers[-1]:
        raise MirrorError(f"{where}: image has no layers")
    return layers[-1]


def check_spec_config(config: Any, layer_digest: str, dag_hash: str, where: str) -> dict[str, Any]:
    """Refuse an image config that is not a spec for ``dag_hash`` bound to ``layer_digest``."""
    if not isinstance(config, dict) or not isinstance(config.get("spec"), dict):
        raise MirrorError(f"{where}: image config holds no Spack spec")
    nodes = config["spec"].get("nodes") or [None]
    root = nodes[0].get("hash") if isinstance(nodes[0], dict) else None
    if root != dag_hash:
        raise MirrorError(
            f"{where}: image config describes {root or 'an unknown hash'} instead of {dag_hash}",
            hint="the registry holds a mislabelled image; push it again",
        )
    checksum = config.get("binary_cache_checksum") or {}
    if checksum.get("hash_algorithm", "sha256") != "sha256" or checksum.get("hash") != digest_hex(
        layer_digest
    ):
        raise IntegrityError(
            f"{where}: spec checksum {checksum.get('hash')!r} does not match its tarball layer "
            f"{layer_digest}",
            hint="the image was not pushed by Spack or was altered; push it again",
        )
    return config


class OciReader:
    """A Spack build cache in an OCI registry, read through :class:`OciClient`."""

    layout = "oci"

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 30.0,
        client: OciClient | None = None,
        retrier: Retrier | None = None,
        credentials: Credentials | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        self.url = url
        self.client = client or OciClient(
            url, timeout=timeout, retrier=retrier, credentials=credentials, ca_bundle=ca_bundle
        )

    def close(self) -> None:
        self.client.close()

    def fetch_index(self, *, known_hash: str | None, etag: str | None) -> IndexFetch:
        """One manifest request; the index blob only when its digest differs from ``known_hash``."""
        manifest, _, new_etag = self.client.manifest_if_changed(
            INDEX_TAG, etag=etag if known_hash else None
        )
        if manifest is None:
            assert known_hash is not None
            return IndexFetch(changed=False, index_hash=known_hash, etag=new_etag)
        layer = _last_layer(manifest, f"{self.url}:{INDEX_TAG}")
        index_hash = digest_hex(layer["digest"])
        if index_hash == known_hash:
            return IndexFetch(changed=False, index_hash=index_hash, etag=new_etag)
        data = self.client.get_blob(layer["digest"], kind="index")
        return IndexFetch(changed=True, index_hash=index_hash, data=data, etag=new_etag)

    def fetch_spec(self, node: ConcreteNode, dag: ConcreteDAG) -> SpecRecord:
        """The image of ``node`` (found by its tag alone; ``dag`` is not needed for OCI)."""
        return self.fetch_spec_by_tag(node.name, node.version, node.hash)

    def fetch_spec_by_tag(self, name: str, version: str, dag_hash: str) -> SpecRecord:
        """Image manifest by tag → config blob (the spec document) + last layer (the tarball)."""
        tag = oci_tag(name, version, dag_hash)
        where = f"{self.url}:{tag}"
        manifest, _ = self.client.get_manifest(tag)
        layer = _last_layer(manifest, where)
        config_ref = manifest.get("config") or {}
        if "digest" not in config_ref:
            raise MirrorError(f"{where}: image has no config")
        try:
            config = json.loads(self.client.get_blob(config_ref["digest"]))
        except ValueError:
            raise MirrorError(f"{where}: image config is not valid JSON") from None
        document = check_spec_config(config, layer["digest"], dag_hash, where)
        size = layer.get("size")
        return SpecRecord(
            document=document,
            tarball=TarballRef(
                location=layer["digest"],
                sha256=digest_hex(layer["digest"]),
                size=size if isinstance(size, int) else None,
            ),
            signed_by=None,
            entry_layout=int(document.get("buildcache_layout_version", 3)),
        )

    def public_keys(self) -> list[str]:
        """OCI build caches are never signed, so they publish no keys."""
        return []

    def open_tarball(self, ref: TarballRef, *, offset: int = 0) -> Iterator[bytes]:
        return self.client.iter_blob(ref.location, offset=offset)

    def tarball_request(self, ref: TarballRef) -> TarballRequest:
        """Streamed by :meth:`open_tarball`, which knows the registry's tokens."""
        return TarballRequest(shown=self.client.repo.api("blobs", ref.location))

    def read_head(self, ref: TarballRef, length: int) -> bytes:
        return self.client.read_blob_head(ref.location, length)
