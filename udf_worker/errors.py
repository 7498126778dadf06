"""udf_worker's own errors."""

from __future__ import annotations

from shared.errors import TopsError


class DeploymentGone(TopsError):
    """The state item no longer exists: the deployment ended while the worker was busy with it."""

    def __init__(self, dep_id: str) -> None:
        self.dep_id = dep_id
        super().__init__(f"deployment {dep_id} no longer exists")


class TeardownError(TopsError):
    """Some teardown steps failed; `failures` names each step and its error. Retryable when any of
    them is."""

    def __init__(self, dep_id: str, failures: list[tuple[str, BaseException]]) -> None:
        self.dep_id = dep_id
        self.failures = failures
        self.retryable = any(getattr(exc, "retryable", True) for _, exc in failures)
        detail = "; ".join(f"{step}: {exc}" for step, exc in failures)
        super().__init__(f"teardown of {dep_id} incomplete: {detail}")
