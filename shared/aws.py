"""boto3 clients, built lazily once per execution environment and reused while warm.

Every client comes from one boto3 Session: a Session loads botocore's endpoint, partition and
service data once and keeps it, so a second client from it costs a fraction of the first, where a
Session per client would parse it all again (about 60 ms and 7 MB per client on a cold start,
bench/RESULTS.md).
Endpoints come from the standard `AWS_ENDPOINT_URL*` variables, which boto3 reads itself, so the
local stack needs no test-only branch here. `reset()` forgets every memo, the Session included (tests
call it).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Final, Literal, TypeVar, overload

from shared.errors import ConfigError

if TYPE_CHECKING:  # boto3-stubs, for the type checker only: nothing here is imported at run time
    from boto3.session import Session
    from mypy_boto3_dynamodb import DynamoDBClient
    from mypy_boto3_lambda import LambdaClient
    from mypy_boto3_route53 import Route53Client
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_ssm import SSMClient

    Service = Literal["dynamodb", "lambda", "route53", "s3", "ssm"]

DEFAULT_REGION: Final = "us-east-1"

T = TypeVar("T")

_memo: dict[str, Any] = {}
_lock = threading.RLock()  # re-entrant: a build may memo its own parts


def region() -> str:
    return os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION


def memo(key: str, build: Callable[[], T]) -> T:
    """Return the object stored under `key`, building it on first use."""
    with _lock:
        if key not in _memo:
            _memo[key] = build()
        value: T = _memo[key]
        return value


def reset() -> None:
    with _lock:
        _memo.clear()


def session() -> Session:
    """The boto3 Session every client of this execution environment is made from.

    Raises ConfigError (not retryable: another try cannot fix it) when `AWS_PROFILE` names no profile
    or no credentials can be found. Resolving them here costs nothing extra: the first request would
    resolve them anyway, and the Session keeps them.
    """

    def build() -> Session:
        import boto3  # deferred: boto3 is the slowest import on the cold path
        from botocore.exceptions import ProfileNotFound

        try:
            built = boto3.session.Session()
            found = built.get_credentials()
        except ProfileNotFound as exc:
            raise ConfigError(
                [
                    f"AWS_PROFILE {exc.kwargs.get('profile')!r} is not a profile in the AWS "
                    "config files: set AWS_PROFILE to one of them, or unset it"
                ]
            ) from None
        if found is None:
            raise ConfigError(
                [
                    "no AWS credentials found: set AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
                    "AWS_SECRET_ACCESS_KEY (in Lambda the runtime sets them)"
                ]
            )
        return built

    return memo("session", build)


# One overload per service the workers call, each returning its boto3-stubs client type. A service
# missing here is a type error until its stub package (requirements-dev.txt), `Service` and an
# overload are added.
@overload
def client(
    service: Literal["dynamodb"], *, read_timeout: float = ..., max_attempts: int = ...
) -> DynamoDBClient: ...


@overload
def client(
    service: Literal["lambda"], *, read_timeout: float = ..., max_attempts: int = ...
) -> LambdaClient: ...


@overload
def client(
    service: Literal["route53"], *, read_timeout: float = ..., max_attempts: int = ...
) -> Route53Client: ...


@overload
def client(service: Literal["s3"], *, read_timeout: float = ..., max_attempts: int = ...) -> S3Client: ...


@overload
def client(service: Literal["ssm"], *, read_timeout: float = ..., max_attempts: int = ...) -> SSMClient: ...


def client(service: Service, *, read_timeout: float = 30.0, max_attempts: int = 5) -> Any:
    """A boto3 client with bounded timeouts and the SDK's standard retry mode (throttling included).

    `max_attempts` counts every attempt, the first included (botocore's `total_max_attempts`: its own
    `max_attempts` counts retries, so 1 there meant a second send). A synchronous Lambda invoke needs a
    read timeout longer than the callee's run time.
    """

    def build() -> Any:
        from botocore.config import Config

        config = Config(
            region_name=region(),
            connect_timeout=5,
            read_timeout=read_timeout,
            retries={"mode": "standard", "total_max_attempts": max_attempts},
        )
        return session().client(service, config=config)

    return memo(f"client:{service}:{read_timeout}:{max_attempts}", build)
