"""A local S3 for demos and end-to-end tests: `moto_server` in a child process on a free loopback port.

A child process rather than moto's in-process mock, because `fivetran debug` runs in a process of its own and must
reach S3 over HTTP exactly as it reaches AWS. The server is stopped on every way out of `running_local_s3()`
(normal exit, exceptions, Ctrl-C): terminated, then killed after a grace period. On Linux it also asks the kernel
to terminate it when the process that started it dies, so not even a parent killed with SIGKILL leaves one behind.

What moto_server 5.2.5 can and cannot be made to do over HTTP (read from `moto/s3/models.py`, `moto/s3/responses.py`
and `moto/moto_api/`):

- Restores are started with the real RestoreObject API. Their progress is moto's state machine for the model
  `s3::keyrestore` (None -> IN_PROGRESS -> RESTORED). Its configuration (`/moto-api/state-manager/set-transition`) is
  global, but the progress is per object: under `{"progression": "manual", "times": N}` an object moves one step
  when its status is read (building the `x-amz-restore` header of a HEAD or GET) after N requests have touched it
  (every HEAD, GET or RestoreObject of that object counts one). So `freeze_restores()` sets `times` to 10**9, and
  `advance_restore()` sets `times` to 1, HEADs the one object (which moves it exactly one step) and freezes again.
  A restore that was requested but never advanced has status None and an expiry, which moto reports as
  `ongoing-request="false"` (finished); that is why `start_restore()` always moves a new restore one step at once.
- LastModified is always the moment of the write. moto has no HTTP endpoint that backdates it (only the in-process
  mock can set `FakeKey.last_modified`), so every object of a local bucket is as old as the bucket's setup.
- Storage classes are chosen at upload (`StorageClass`), as AWS allows for every class; lifecycle transitions do
  not run, and Intelligent-Tiering objects never reach an archive tier (HEAD sends no `x-amz-archive-status`).

Run it on its own to get an S3 for manual experiments: `python scripts/local_s3.py` (Ctrl-C stops it).
"""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import contextmanager
from typing import IO, Any, Iterator, NoReturn

import boto3
import botocore.session
from botocore.config import Config

LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
# moto accepts any credentials. The key ID is not moto's customary "testing" because the connector refuses key IDs
# shorter than 8 letters or digits; this one has the shape of a real one (16+ characters, AKIA...).
DUMMY_ACCESS_KEY_ID = "AKIALOCALTESTING"
DUMMY_SECRET = "testing"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": DUMMY_ACCESS_KEY_ID, "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET}
RESTORE_MODEL = "s3::keyrestore"
FROZEN = 10**9
KIB = 1024
MIB = 1024 * KIB
STARTUP_TIMEOUT_S = 30.0
STOP_GRACE_S = 5.0
START_ATTEMPTS = 3
# Loopback requests must never go through an HTTP(S)_PROXY the user's shell may set.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))
_LINUX_LAUNCHER = """
import ctypes, os, signal, sys
ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
if os.getppid() != int(sys.argv[1]):
    sys.exit(1)
from moto.server import main
main(sys.argv[2:])
"""


class LocalS3Error(RuntimeError):
    """The local S3 could not be started or driven."""


def free_port() -> int:
    """A port nothing listens on right now: bound to port 0, the kernel picks one, and it is released again.

    Another process may take it before moto_server binds it; `running_local_s3()` then starts over on a new port.
    """
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind((LOOPBACK, 0))
        return int(probe.getsockname()[1])


def server_command(port: int) -> list[str]:
    """moto_server under the running interpreter (so no virtualenv needs to be activated), bound to loopback.

    On Linux it first sets its parent-death signal, in the child itself rather than in a `preexec_fn` (which is unsafe
    in a process with threads, as pytest's may be), and stops at once if its parent is already gone.
    """
    arguments = ["--host", LOOPBACK, "--port", str(port)]
    if not sys.platform.startswith("linux"):
        return [sys.executable, "-m", "moto.server", *arguments]
    return [sys.executable, "-c", _LINUX_LAUNCHER, str(os.getpid()), *arguments]


def _answers(url: str) -> bool:
    try:
        with _DIRECT.open(url, timeout=1.0):
            return True
    except urllib.error.HTTPError:
        return True
    except (urllib.error.URLError, OSError):
        return False


def _tail(log: IO[bytes], limit: int = 2000) -> str:
    log.seek(0)
    return log.read()[-limit:].decode("utf-8", errors="replace")


def _stop(process: subprocess.Popen) -> None:
    """Terminate, then kill if it has not gone within the grace period; always reaps the child."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            process.kill()
    process.wait()


def _start(log: IO[bytes], deadline: float) -> tuple[subprocess.Popen, str] | None:
    """One attempt: the running server and its URL, or None when it exited early (e.g. its port was taken)."""
    port = free_port()
    process = subprocess.Popen(server_command(port), stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                               env={**os.environ, **DUMMY_CREDENTIALS})
    url = f"http://{LOOPBACK}:{port}"
    try:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                return None
            if _answers(f"{url}/moto-api/"):
                return process, url
            time.sleep(0.1)
    except BaseException:
        _stop(process)
        raise
    _stop(process)
    raise LocalS3Error(f"moto_server did not answer on {url} within {STARTUP_TIMEOUT_S:.0f}s:\n{_tail(log)}")


@contextmanager
def running_local_s3(startup_timeout: float = STARTUP_TIMEOUT_S) -> Iterator[str]:
    """Start moto_server, yield its endpoint URL (e.g. `http://127.0.0.1:40123`), and always stop it."""
    with tempfile.TemporaryFile() as log:
        deadline = time.monotonic() + startup_timeout
        started = None
        for _ in range(START_ATTEMPTS):
            started = _start(log, deadline)
            if started is not None:
                break
        if started is None:
            raise LocalS3Error(f"moto_server exited during startup {START_ATTEMPTS} times:\n{_tail(log)}")
        process, url = started
        try:
            freeze_restores(url)
            yield url
        finally:
            _stop(process)


def _isolated_session() -> boto3.session.Session:
    """A boto3 session that reads nothing of the user's AWS setup: no AWS_PROFILE, config or credentials file."""
    # (config file key, environment variable, default, conversion): None where nothing may be read.
    ignored = {"profile": (None, None, None, None), "config_file": (None, None, os.devnull, None),
               "credentials_file": (None, None, os.devnull, None)}
    return boto3.session.Session(botocore_session=botocore.session.Session(session_vars=ignored))


def s3_client(endpoint_url: str) -> Any:
    """A boto3 S3 client for the local server: dummy credentials, path-style addressing, no proxy, no retries."""
    config = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1}, proxies={})
    return _isolated_session().client("s3", endpoint_url=endpoint_url, region_name=REGION, config=config,
                                      aws_access_key_id=DUMMY_ACCESS_KEY_ID, aws_secret_access_key=DUMMY_SECRET)


def sqs_client(endpoint_url: str) -> Any:
    """A boto3 SQS client for the same local server (moto_server serves SQS beside S3), isolated like `s3_client`."""
    config = Config(retries={"total_max_attempts": 1}, proxies={})
    return _isolated_session().client("sqs", endpoint_url=endpoint_url, region_name=REGION, config=config,
                                      aws_access_key_id=DUMMY_ACCESS_KEY_ID, aws_secret_access_key=DUMMY_SECRET)


def _post_json(url: str, payload: dict[str, Any]) -> None:
    request = urllib.request.Request(url, data=json.dumps(payload).encode("utf-8"), method="POST",
                                     headers={"Content-Type": "application/json"})
    with _DIRECT.open(request, timeout=10):
        pass


def set_restore_steps(endpoint_url: str, times: int) -> None:
    """How many requests an object takes before its next status read moves its restore one step (see above)."""
    _post_json(f"{endpoint_url}/moto-api/state-manager/set-transition",
               {"model_name": RESTORE_MODEL, "transition": {"progression": "manual", "times": times}})


def freeze_restores(endpoint_url: str) -> None:
    """Restores stay where they are however often they are read, as a real one does for hours."""
    set_restore_steps(endpoint_url, FROZEN)


def advance_restore(client: Any, endpoint_url: str, bucket: str, key: str) -> str | None:
    """Move one object's restore one step (requested -> in progress -> restored); returns its new x-amz-restore."""
    set_restore_steps(endpoint_url, 1)
    try:
        return client.head_object(Bucket=bucket, Key=key).get("Restore")
    finally:
        freeze_restores(endpoint_url)


def start_restore(client: Any, endpoint_url: str, bucket: str, key: str, days: int = 7) -> str | None:
    """Request a restore with the real RestoreObject API and leave it in progress."""
    client.restore_object(Bucket=bucket, Key=key, RestoreRequest={"Days": days})
    return advance_restore(client, endpoint_url, bucket, key)


def complete_restore(client: Any, endpoint_url: str, bucket: str, key: str) -> str | None:
    """Finish a restore that is in progress: the object gets an expiry date, its LastModified stays as it was."""
    return advance_restore(client, endpoint_url, bucket, key)


def filler(seed: str, size: int) -> bytes:
    """`size` bytes that differ from seed to seed (so ETags differ) and cost nothing to make."""
    unit = (seed + "\n").encode("utf-8")
    return (unit * (size // len(unit) + 1))[:size]


def upload_multipart(client: Any, bucket: str, key: str, part_sizes: list[int]) -> str:
    """A real multipart upload (moto enforces S3's 5 MiB minimum for every part but the last); returns the ETag."""
    upload = client.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    parts = []
    for number, size in enumerate(part_sizes, start=1):
        body = filler(f"{key} part {number}", size)
        etag = client.upload_part(Bucket=bucket, Key=key, UploadId=upload, PartNumber=number, Body=body)["ETag"]
        parts.append({"PartNumber": number, "ETag": etag})
    response = client.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=upload,
                                                MultipartUpload={"Parts": parts})
    return str(response["ETag"])


def wait_for_next_second() -> None:
    """Sleep into the next wall-clock second. LastModified and S3's Date header are whole seconds, so an object
    written in the second a sync starts cannot be told from one written just after; waiting makes the setup older."""
    time.sleep(1.02 - time.time() % 1)


def _exit_on_signal(signum: int, frame: Any) -> NoReturn:
    raise SystemExit(128 + signum)


def exit_cleanly_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit, so that `finally` blocks (the server's stop above all) run as they do on Ctrl-C."""
    signal.signal(signal.SIGTERM, _exit_on_signal)


def main() -> int:
    exit_cleanly_on_sigterm()
    with running_local_s3() as endpoint:
        print(f"Local S3 (moto_server) at {endpoint}; Ctrl-C stops it.")
        variables = {"AWS_ENDPOINT_URL": endpoint, **DUMMY_CREDENTIALS}
        print("  export " + " ".join(f"{name}={value}" for name, value in variables.items()), flush=True)
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            print("\nstopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
