"""The released model, downloaded and verified at start, for hosts that do not extract it for us.

SageMaker downloads and extracts the model's model.tar.gz into /opt/ml/model before the container
starts. On ECS (terraform/ecs.tf) nothing does: the task definition names the released archive and
the sha256 its manifest published, and `textclf serve` fetches it before loading:

- TEXTCLF_MODEL_URL     s3://bucket/key of model.tar.gz (unset: serve the model folder as it is)
- TEXTCLF_MODEL_SHA256  the archive's sha256 (required with the URL)

The archive is streamed to a temporary file inside the model folder while its sha256 is computed;
other bytes than the published ones stop the server with both digests named (the reviewed bytes are
the released bytes), and nothing is extracted. Only then is it extracted (no absolute paths or
links out of the folder: tarfile's "data" filter). The download says when it starts (its size), takes
at most FETCH_SECONDS and MAX_ARCHIVE_BYTES (and no more than the folder's free space), and SIGTERM
or SIGINT stops it at once (StopSignals), the partial archive removed.

The serving image has no boto3, so the GET is signed here with SigV4 (standard library only), with
the task's credentials: the environment's keys, or the ECS container credentials endpoint
(AWS_CONTAINER_CREDENTIALS_RELATIVE_URI / _FULL_URI, "Amazon ECS task IAM role"). AWS_ENDPOINT_URL
(the local cloud) is honoured with path-style addressing.

The settings are checked before any request, as boto3's client creation checks them elsewhere in the
project: AWS_ENDPOINT_URL(_S3) must be an http(s) URL, the region a region name, the keys characters
a header can carry; each refusal names the variable ("cannot fetch the model: ..."), exit 2 from
`textclf serve`. The credentials URL is taken only where AWS's SDKs take it: https, or http to a
loopback address or the ECS/EKS container hosts (AWS SDKs and Tools Reference Guide, "Container
credential provider",
https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html); urllib would
otherwise open file:// and any other host with the task's authorization token.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import http.client
import ipaddress
import json
import os
import re
import shutil
import signal
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from textclf.s3uri import bucket_name_problem
from textclf.serving import sigv4
from textclf.serving.inference import ModelDirError

URL_ENV = "TEXTCLF_MODEL_URL"
SHA256_ENV = "TEXTCLF_MODEL_SHA256"
ECS_CREDENTIALS_HOST = "http://169.254.170.2"
# Where AWS's SDKs take AWS_CONTAINER_CREDENTIALS_FULL_URI over plain http: a loopback address, the
# ECS container host and the EKS Pod Identity hosts ("Container credential provider", AWS SDKs and
# Tools Reference Guide, https://docs.aws.amazon.com/sdkref/latest/guide/feature-container-credentials.html).
CONTAINER_HOSTS = frozenset({"169.254.170.2", "169.254.170.23", "fd00:ec2::23", "localhost"})
REGION = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")  # us-east-1, us-gov-west-1, cn-north-1
HEADER_SAFE = re.compile(r"[\x21-\x7e]+")  # what a key or token may hold in a request header
CHUNK = 1 << 20
# The download is bounded in time and size: the socket's timeout is per read, so an answer trickled
# a few bytes at a time (or stalled and resumed) held the task for ever, and an endless one, or one
# far larger than a model, filled its disk. An archive larger than MAX_ARCHIVE_BYTES, or than the
# model folder's free space, is refused by its Content-Length before a byte is written.
FETCH_SECONDS = 30 * 60
MAX_ARCHIVE_BYTES = 20 * 1024**3
MAX_CREDENTIALS_BYTES = 64 * 1024


class FetchError(ModelDirError):
    """The released model could not be downloaded, or is not the published bytes."""


class Interrupted(FetchError):
    """SIGTERM or SIGINT arrived while the model was fetched: the fetch stopped, nothing extracted."""


class StopSignals:
    """SIGTERM and SIGINT, recorded for the main thread to act on (`received`). While a download runs
    (`interrupting`), the first one also raises Interrupted where the main thread is, which may be a
    read of the socket that blocks for its whole timeout: the task stops when ECS asks it to (or a
    person presses Ctrl-C), before ECS's SIGKILL leaves a partial archive in the model folder. The
    handler appends to a list and sets a flag only: nothing that takes a lock."""

    def __init__(self) -> None:
        self.received: list[int] = []
        self.raising = False

    def install(self) -> StopSignals:
        for number in (signal.SIGTERM, signal.SIGINT):
            signal.signal(number, self._handle)
        return self

    def _handle(self, signum: int, _frame: Any) -> None:
        self.received.append(signum)
        if self.raising:
            self.raising = False  # one raise: a second signal while it unwinds is only recorded
            raise Interrupted(self.message())

    def message(self) -> str:
        name = signal.Signals(self.received[0]).name if self.received else "a signal"
        return f"{name} while fetching the model: stopped; nothing was extracted into the model folder"

    def check(self) -> None:
        """Interrupted if a signal was recorded."""
        if self.received:
            raise Interrupted(self.message())

    @contextmanager
    def interrupting(self) -> Iterator[None]:
        self.check()
        self.raising = True
        try:
            yield
        finally:
            self.raising = False


def _url_problem(url: str) -> str | None:
    """Why `url` is not an http(s)://host[:port][/path] URL, or None."""
    if not HEADER_SAFE.fullmatch(url):
        return "it holds a space, a line break, a control or a non-ASCII character"
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 (a port that is not a number 0-65535 raises here)
    except ValueError as error:
        return str(error)
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        return "not http://host or https://host"
    if parsed.username is not None or parsed.query or parsed.fragment:
        return "a user part, query or fragment"
    return None


def _checked_chars(value: str, what: str) -> str:
    """`value` when a request header can carry it; otherwise a FetchError naming `what` (never the
    value: it may be a secret)."""
    if not HEADER_SAFE.fullmatch(value):
        position = next((i for i, c in enumerate(value) if not HEADER_SAFE.fullmatch(c)), 0)
        raise FetchError(
            f"{what} holds a space, a line break, a control or a non-ASCII character (at position "
            f"{position + 1} of {len(value)}): set it as AWS issued it"
        )
    return value


def _credentials_url(env: dict[str, str]) -> str:
    """The container credentials URL, only where AWS's SDKs take it (CONTAINER_HOSTS), or ''."""
    if env.get("AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        name, url = "AWS_CONTAINER_CREDENTIALS_FULL_URI", env["AWS_CONTAINER_CREDENTIALS_FULL_URI"]
    elif env.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"):
        name = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
        url = ECS_CREDENTIALS_HOST + env[name]
        if not env[name].startswith("/"):
            url = ECS_CREDENTIALS_HOST + "/" + env[name]  # a relative URI is a path: never another host
    else:
        return ""
    problem = _url_problem(url)
    host = "" if problem else (urllib.parse.urlsplit(url).hostname or "")
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    https = not problem and url.lower().startswith("https:")
    if problem or not (https or loopback or host in CONTAINER_HOSTS):
        raise FetchError(
            f"{name}={env[name][:200]!r} is not a container credentials URL AWS's SDKs accept "
            f"({problem or f'http to {host!r}'}): https://, or http:// to a loopback address, "
            "169.254.170.2 (ECS), 169.254.170.23 or [fd00:ec2::23] (EKS); correct or unset it"
        )
    return url


def _credentials(env: dict[str, str]) -> dict[str, str]:
    if env.get("AWS_ACCESS_KEY_ID") and env.get("AWS_SECRET_ACCESS_KEY"):
        return {
            "key": _checked_chars(env["AWS_ACCESS_KEY_ID"], "AWS_ACCESS_KEY_ID"),
            "secret": _checked_chars(env["AWS_SECRET_ACCESS_KEY"], "AWS_SECRET_ACCESS_KEY"),
            "token": _checked_chars(env["AWS_SESSION_TOKEN"], "AWS_SESSION_TOKEN")
            if env.get("AWS_SESSION_TOKEN")
            else "",
        }
    url = _credentials_url(env)
    if not url:
        raise FetchError(
            f"{URL_ENV} is set but no AWS credentials are: run as an ECS task with a task role, "
            "or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"
        )
    request = urllib.request.Request(url)
    if env.get("AWS_CONTAINER_AUTHORIZATION_TOKEN"):
        token = env["AWS_CONTAINER_AUTHORIZATION_TOKEN"]
        request.add_header("Authorization", _checked_chars(token, "AWS_CONTAINER_AUTHORIZATION_TOKEN"))
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            body = answer.read(MAX_CREDENTIALS_BYTES + 1)  # a few hundred bytes: never read an endless one
        if len(body) > MAX_CREDENTIALS_BYTES:
            raise ValueError(f"an answer longer than {MAX_CREDENTIALS_BYTES} bytes")
        found = json.loads(body)
    except (OSError, ValueError, RecursionError, http.client.HTTPException) as error:
        raise FetchError(f"the container credentials endpoint {url} did not answer: {error}") from None
    fields = [
        found.get(name) if isinstance(found, dict) else None for name in ("AccessKeyId", "SecretAccessKey")
    ]
    if not all(isinstance(value, str) and value for value in fields):
        raise FetchError(
            f"the container credentials endpoint {url} answered without AccessKeyId and SecretAccessKey"
        )
    token = found.get("Token") or ""
    where = f"the container credentials endpoint {url}'s"
    return {
        "key": _checked_chars(fields[0], f"{where} AccessKeyId"),
        "secret": _checked_chars(fields[1], f"{where} SecretAccessKey"),
        "token": _checked_chars(token, f"{where} Token") if isinstance(token, str) and token else "",
    }


def region(env: dict[str, str]) -> str:
    """AWS_REGION (or AWS_DEFAULT_REGION, or us-east-1), refused naming the variable when it is not a
    region name: it goes into the request's host and its signature."""
    name = "AWS_REGION" if env.get("AWS_REGION") else "AWS_DEFAULT_REGION"
    value = env.get(name) or "us-east-1"
    if len(value) > 64 or not REGION.fullmatch(value):
        raise FetchError(
            f"{name}={value[:80]!r} is not an AWS region name (such as us-east-1: lower-case letters, "
            "digits and hyphens): correct or unset it"
        )
    return value


def _endpoint(env: dict[str, str]) -> str:
    """AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL (the local cloud), checked; '' when neither is set."""
    name = "AWS_ENDPOINT_URL_S3" if env.get("AWS_ENDPOINT_URL_S3") else "AWS_ENDPOINT_URL"
    value = env.get(name) or ""
    problem = _url_problem(value) if value else None
    if problem:
        raise FetchError(
            f"{name}={value[:200]!r} is not a URL ({problem}): set it to http(s)://host[:port] "
            "(the local cloud) or unset it"
        )
    return value


def signed_get(
    url: str, region: str, credentials: dict[str, str], now: dt.datetime
) -> urllib.request.Request:
    """A GET of `url` signed with Signature Version 4 for S3 (empty payload)."""
    return sigv4.signed_request("GET", url, b"", region, credentials, now)


def object_url(s3_url: str, env: dict[str, str], region: str) -> str:
    parsed = urllib.parse.urlsplit(s3_url)
    # The bucket goes into the host name: S3's bucket naming rules (textclf.s3uri), nothing else (no
    # user part, port, or a host of another domain; no two dots, no IP address).
    if (
        parsed.scheme != "s3"
        or bucket_name_problem(parsed.netloc)
        or not parsed.path.strip("/")
        or parsed.query
        or parsed.fragment
    ):
        raise FetchError(f"{URL_ENV}={s3_url[:200]!r} is not an s3://bucket/key URL")
    key = urllib.parse.quote(parsed.path.lstrip("/"), safe="/-_.~")
    endpoint = _endpoint(env)
    if endpoint:
        return f"{endpoint.rstrip('/')}/{parsed.netloc}/{key}"  # path style
    return f"https://{parsed.netloc}.s3.{region}.amazonaws.com/{key}"


def _announced_size(answer: Any, s3_url: str, model_dir: Path) -> int | None:
    """The answer's Content-Length, refused when no model is that large or the folder cannot hold it."""
    length = answer.headers.get("Content-Length")
    size = int(length) if length and length.isascii() and length.isdigit() else None
    if size is not None and size > MAX_ARCHIVE_BYTES:
        raise FetchError(
            f"{s3_url}: S3 announces {size} bytes, more than a model archive's {MAX_ARCHIVE_BYTES}: check "
            f"{URL_ENV} names the released model.tar.gz"
        )
    free = shutil.disk_usage(model_dir).free
    if size is not None and size > free:
        raise FetchError(
            f"{s3_url}: {size} bytes do not fit in {model_dir} ({free} bytes free): give the task more "
            "storage, or pass another folder (--model-dir, TEXTCLF_MODEL_DIR)"
        )
    return size


def _download(
    request: urllib.request.Request,
    s3_url: str,
    model_dir: Path,
    archive: Any,
    say: Callable[..., None] | None,
) -> str:
    """Stream the answer into `archive`, within FETCH_SECONDS and MAX_ARCHIVE_BYTES; its sha256."""
    digest = hashlib.sha256()
    with urllib.request.urlopen(request, timeout=60) as answer:
        announced = _announced_size(answer, s3_url, model_dir)
        if say is not None:
            say(status="fetching", url=s3_url, bytes=announced)
        limit = MAX_ARCHIVE_BYTES if announced is None else announced
        deadline, size = time.monotonic() + FETCH_SECONDS, 0
        read = getattr(answer, "read1", answer.read)  # read1: what arrived, not a whole CHUNK
        while chunk := read(CHUNK):
            size += len(chunk)
            if size > limit:
                raise FetchError(f"{s3_url}: the answer is longer than the {limit} bytes it may be")
            if time.monotonic() > deadline:
                raise FetchError(
                    f"{s3_url}: the download took longer than {FETCH_SECONDS} s ({size} bytes read): "
                    "check the task's network to S3 (AWS_ENDPOINT_URL if set)"
                )
            digest.update(chunk)
            archive.write(chunk)
    return digest.hexdigest()


def fetch(
    model_dir: Path,
    s3_url: str,
    sha256: str,
    env: dict[str, str] | None = None,
    stops: StopSignals | None = None,
    say: Callable[..., None] | None = None,
) -> str:
    """Download `s3_url` into `model_dir`, check its sha256, extract it. Returns the digest. With
    `stops` (installed), SIGTERM or SIGINT stops it (Interrupted); `say` is told when the download
    starts (status "fetching", its size)."""
    env = dict(os.environ if env is None else env)
    expected = sha256.strip().lower()
    if len(expected) != 64 or any(c not in "0123456789abcdef" for c in expected):
        raise FetchError(f"{SHA256_ENV}={sha256!r} is not a sha256 (64 hex digits); the release sets it")
    try:
        where = region(env)
        url = object_url(s3_url, env, where)
        with stops.interrupting() if stops is not None else _nothing():  # the credentials endpoint
            credentials = _credentials(env)
        request = signed_get(url, where, credentials, dt.datetime.now(dt.UTC))
    except Interrupted:
        raise
    except FetchError as error:
        raise FetchError(f"cannot fetch the model: {error}") from None
    except (ValueError, http.client.HTTPException) as error:  # what the checks above did not foresee
        raise FetchError(
            f"cannot fetch the model: the request for {s3_url} cannot be made ({error}): check "
            "AWS_ENDPOINT_URL, AWS_REGION and the AWS keys"
        ) from None
    try:
        model_dir.mkdir(parents=True, exist_ok=True)
        archive_file = tempfile.NamedTemporaryFile(dir=model_dir, prefix=".model-", suffix=".tar.gz")  # noqa: SIM115 (entered just below)
    except OSError as error:
        raise FetchError(
            f"{model_dir}: cannot hold the downloaded model ({error.strerror}); pass a writable folder "
            "(--model-dir, TEXTCLF_MODEL_DIR)"
        ) from None
    with archive_file as archive:
        try:
            with stops.interrupting() if stops is not None else _nothing():
                found = _download(request, s3_url, model_dir, archive, say)
        except FetchError:  # Interrupted too
            raise
        except urllib.error.HTTPError as error:
            detail = error.read()[:300].decode("utf-8", "replace")
            raise FetchError(f"{s3_url}: S3 answered {error.code}: {detail}") from None
        except (OSError, http.client.HTTPException) as error:
            raise FetchError(f"{s3_url}: download failed: {error}") from None
        except ValueError as error:  # urllib's and http.client's refusals of a URL or header
            raise FetchError(
                f"cannot fetch the model: the request for {s3_url} cannot be sent ({error}): check "
                "AWS_ENDPOINT_URL, AWS_REGION and the AWS keys"
            ) from None
        archive.flush()
        if stops is not None:
            stops.check()  # a signal after the last byte: still nothing extracted
        if found != expected:
            raise FetchError(
                f"{s3_url} has sha256 {found}, but the release published {expected}: "
                "refusing to serve other bytes than the reviewed ones"
            )
        with tempfile.TemporaryDirectory(dir=model_dir, prefix=".extract-") as staging:
            try:
                with tarfile.open(archive.name, mode="r:gz") as opened:
                    opened.extractall(staging, filter="data")
            # A cut gzip stream is EOFError and a damaged one zlib.error: neither is a TarError or an
            # OSError (tarfile wraps them only while it reads the first header).
            except (tarfile.TarError, OSError, EOFError, zlib.error) as error:
                raise FetchError(f"{s3_url}: not a model archive ({error})") from None
            if stops is not None:
                stops.check()  # the folder is as it was
            try:
                _move_in(Path(staging), model_dir)
            except OSError as error:
                raise FetchError(
                    f"{s3_url}: could not put the model into {model_dir} ({error.strerror}); the folder "
                    "is as it was: check its permissions and free space"
                ) from None
    return expected


def _move_in(staging: Path, model_dir: Path) -> None:
    """Move every entry of `staging` into `model_dir`, all or nothing: what the archive replaces is
    set aside first (a non-empty folder of the same name included) and put back if a move fails."""
    entries = sorted(staging.iterdir())
    aside = Path(tempfile.mkdtemp(dir=model_dir, prefix=".previous-"))
    set_aside, moved = [], []
    try:
        for entry in entries:
            target = model_dir / entry.name
            if target.exists() or target.is_symlink():
                os.replace(target, aside / entry.name)
                set_aside.append(entry.name)
        for entry in entries:
            os.replace(entry, model_dir / entry.name)
            moved.append(entry.name)
    except OSError:
        for name in moved:  # undo: the new entries back to staging, the old ones back in place
            os.replace(model_dir / name, staging / name)
        for name in set_aside:
            os.replace(aside / name, model_dir / name)
        raise
    finally:
        shutil.rmtree(aside, ignore_errors=True)


@contextmanager
def _nothing() -> Iterator[None]:
    yield


def from_environment(
    model_dir: Path, stops: StopSignals | None = None, say: Callable[..., None] | None = None
) -> str | None:
    """Fetch the model TEXTCLF_MODEL_URL names into `model_dir`, or do nothing when it is unset."""
    url = os.environ.get(URL_ENV, "").strip()
    if not url:
        return None
    sha256 = os.environ.get(SHA256_ENV, "").strip()
    if not sha256:
        raise FetchError(f"{URL_ENV} is set without {SHA256_ENV}: a model is served only with its digest")
    return fetch(model_dir, url, sha256, stops=stops, say=say)
