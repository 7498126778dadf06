from __future__ import annotations

from typing import Any

import pytest

from shared.invoke import CalleeError
from tests.unit.udf_worker.fakes import APP, FUNCTIONS, POST, SEC, FakeUser, Rig
from udf_worker.errors import TeardownError
from udf_worker.models import DeploymentState
from udf_worker.provision import provision
from udf_worker.teardown import UserOutcome, teardown

A = "3f2a9c1e-7b4d-4e8a-9c21-5d6e7f8a9b0c"
B = "9b8a7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d"
EMAIL = "jane@example.com"


def provisioned(rig: Rig, dep_id: str, **start: Any) -> None:
    rig.start(dep_id, **start)
    provision(dep_id, rig.worker())


def end(rig: Rig, dep_id: str, db: Any = None) -> Any:
    """The sweeper deletes the item; the worker handles the REMOVE's old image."""
    old = rig.delete(dep_id)
    rig.invoker.calls.clear()
    return teardown(DeploymentState.from_item(old), rig.worker(db))


def user(rig: Rig, base: str = SEC) -> FakeUser | None:
    return rig.invoker.tenant(base).users.get(EMAIL)


def old_image(**fields: Any) -> DeploymentState:
    """A REMOVE image of Jane's deployment A of lab fd6bfa98 in the sec tenant, plus `fields`; a field
    given as None is left out."""
    image = {
        "dep_id": A,
        "lab_id": "fd6bfa98",
        "email": EMAIL,
        "petname": "ample-gull",
        "tenant_url": "https://sec.example.test",
        "ssm_base_path": SEC,
        **fields,
    }
    return DeploymentState.from_item({name: value for name, value in image.items() if value is not None})


def test_teardown_created_user_without_others_deletes_user_then_namespace(rig: Rig) -> None:
    # GIVEN a provisioned lab whose user the pipeline created
    provisioned(rig, A)

    # WHEN it ends
    result = end(rig, A)

    # THEN the user is deleted before the namespace, and nothing of the lab is left
    assert result.user is UserOutcome.DELETED
    assert rig.invoker.names() == ["tops-user-remove", "tops-ns-remove"]
    assert rig.invoker.calls[0][1] == {"ssm_base_path": SEC, "email": EMAIL}
    assert rig.invoker.calls[1][1] == {"ssm_base_path": SEC, "namespace_name": "ample-gull", "owner": A}
    tenant = rig.invoker.tenant(SEC)
    assert tenant.users == {} and tenant.namespaces == {} and tenant.objects == set()


def test_teardown_post_lambda_runs_first_with_remove_action(rig: Rig) -> None:
    provisioned(rig, A, lab_id="b0570001")

    end(rig, A)

    assert rig.invoker.names()[0] == "tops-udf-helper-example-post"
    assert rig.invoker.calls[0] == (
        POST,
        {"ssm_base_path": SEC, "petname": "ample-gull", "email": EMAIL, "action": "remove"},
    )


def test_teardown_preexisting_account_only_loses_what_the_lab_added(rig: Rig) -> None:
    # GIVEN the learner's own account with a role of their own and the lab's group already
    rig.invoker.tenant(SEC).users[EMAIL] = FakeUser(roles={("prod", "admin")}, groups={"xc-lab-users"})
    provisioned(rig, A)

    # WHEN the lab ends
    result = end(rig, A)

    # THEN the account stays with exactly what it had before
    assert result.user is UserOutcome.REVOKED
    assert rig.invoker.calls[0] == (
        FUNCTIONS.user_remove,
        {
            "ssm_base_path": SEC,
            "email": EMAIL,
            "namespace_roles": [
                {"namespace": "ample-gull", "role": "ves-io-admin-role"},
                {"namespace": "system", "role": "f5xc-web-app-scanning-user"},
            ],
        },
    )
    assert user(rig) == FakeUser(roles={("prod", "admin")}, groups={"xc-lab-users"})


def test_teardown_two_labs_same_learner_first_end_keeps_second_working(rig: Rig) -> None:
    # GIVEN two labs of one learner in one tenant; the first created the account
    provisioned(rig, A, lab_id="fd6bfa98", petname="ample-gull")
    provisioned(rig, B, lab_id="a09e1e9d", petname="brave-otter")

    # WHEN the first ends
    result = end(rig, A)

    # THEN the account stays with the second lab's roles; only the first lab's roles go
    assert result.user is UserOutcome.REVOKED
    assert user(rig) == FakeUser(roles={("brave-otter", "ves-io-admin-role")}, groups={"xc-lab-users"})
    assert set(rig.invoker.tenant(SEC).namespaces) == {"brave-otter"}
    # AND the second deployment now owns the account
    second: Any = rig.item(B)
    assert second["user_preexisting"] is False
    assert second["user_added_groups"] == {"xc-lab-users"}

    # WHEN the second ends too
    result = end(rig, B)

    # THEN the account the pipeline created is deleted
    assert result.user is UserOutcome.DELETED
    assert rig.invoker.tenant(SEC).users == {}
    assert rig.invoker.tenant(SEC).namespaces == {}


def test_teardown_two_labs_same_learner_second_ends_first(rig: Rig) -> None:
    provisioned(rig, A, lab_id="fd6bfa98", petname="ample-gull")
    provisioned(rig, B, lab_id="a09e1e9d", petname="brave-otter")

    result = end(rig, B)

    assert result.user is UserOutcome.REVOKED
    assert user(rig) == FakeUser(
        roles={("ample-gull", "ves-io-admin-role"), ("system", "xc-lab-mcn-ce")}, groups={"xc-lab-users"}
    )
    end(rig, A)
    assert rig.invoker.tenant(SEC).users == {}


def test_teardown_same_lab_twice_keeps_shared_role_for_the_other(rig: Rig) -> None:
    # GIVEN the same lab twice for one learner: both need system/xc-lab-mcn-ce, the first added it
    provisioned(rig, A, lab_id="fd6bfa98", petname="ample-gull")
    provisioned(rig, B, lab_id="fd6bfa98", petname="brave-otter")

    # WHEN the first ends
    end(rig, A)

    # THEN the shared role stays, and the second deployment now answers for it
    assert user(rig) == FakeUser(
        roles={("brave-otter", "ves-io-admin-role"), ("system", "xc-lab-mcn-ce")}, groups={"xc-lab-users"}
    )
    second: Any = rig.item(B)
    assert "system/xc-lab-mcn-ce" in second["user_added_roles"]


def test_teardown_same_lab_twice_on_preexisting_account_restores_it(rig: Rig) -> None:
    # GIVEN a pre-existing account and the same lab twice
    rig.invoker.tenant(SEC).users[EMAIL] = FakeUser(roles={("prod", "admin")})
    provisioned(rig, A, lab_id="fd6bfa98", petname="ample-gull")
    provisioned(rig, B, lab_id="fd6bfa98", petname="brave-otter")

    # WHEN both end, in order
    end(rig, A)
    assert user(rig) == FakeUser(
        roles={("prod", "admin"), ("brave-otter", "ves-io-admin-role"), ("system", "xc-lab-mcn-ce")},
        groups={"xc-lab-users"},
    )
    end(rig, B)

    # THEN the account is back to what it was, and was never deleted
    assert user(rig) == FakeUser(roles={("prod", "admin")})


def test_teardown_other_deployment_in_another_tenant_does_not_keep_user(rig: Rig) -> None:
    provisioned(rig, A, lab_id="fd6bfa98")
    provisioned(rig, B, lab_id="10da9e42", petname="brave-otter")  # app tenant

    result = end(rig, A)

    assert result.user is UserOutcome.DELETED
    assert user(rig, SEC) is None
    assert user(rig, APP) is not None


def test_teardown_other_deployment_not_yet_provisioned_counts_by_its_lab(rig: Rig) -> None:
    # GIVEN a second deployment that dispatch inserted but the worker has not reached (no tenant_url)
    provisioned(rig, A, lab_id="fd6bfa98")
    rig.start(B, lab_id="a09e1e9d", petname="brave-otter")

    # WHEN the first ends
    result = end(rig, A)

    # THEN the account is kept for it and handed over
    assert result.user is UserOutcome.REVOKED
    assert user(rig) is not None
    second: Any = rig.item(B)
    assert second["user_preexisting"] is False

    # AND when the second then provisions and ends, the account is deleted
    provision(B, rig.worker())
    end(rig, B)
    assert user(rig) is None


def test_teardown_other_deployment_with_different_email_case_counts(rig: Rig) -> None:
    provisioned(rig, A, lab_id="fd6bfa98")
    rig.start(B, lab_id="a09e1e9d", petname="brave-otter", email="Jane@Example.com")

    assert end(rig, A).user is UserOutcome.REVOKED


def test_teardown_scans_every_page_for_other_deployments(rig: Rig) -> None:
    # GIVEN many unrelated deployments, and the learner's second lab somewhere among them
    for i in range(12):
        rig.start(f"other-{i:02d}", email=f"learner{i}@example.com", petname=f"pet-{i}")
    provisioned(rig, A, lab_id="fd6bfa98")
    provisioned(rig, B, lab_id="a09e1e9d", petname="brave-otter")

    class OneItemPages:
        def __init__(self, real: Any) -> None:
            self.real = real

        def __getattr__(self, name: str) -> Any:
            return getattr(self.real, name)

        def scan(self, **kwargs: Any) -> Any:
            return self.real.scan(Limit=1, **kwargs)

    # WHEN the first ends, reading one item per Scan page
    result = end(rig, A, db=OneItemPages(rig.db))

    # THEN the second lab was found
    assert result.user is UserOutcome.REVOKED


def test_teardown_failed_early_item_without_tenant_url_does_nothing(rig: Rig) -> None:
    # GIVEN a deployment that failed at its lab row (no tenant_url, no steps)
    rig.start(A, lab_id="00000000")
    provision(A, rig.worker())

    result = end(rig, A)

    assert result.user is UserOutcome.UNTOUCHED
    assert rig.invoker.calls == []


def test_teardown_namespace_failed_asks_ns_remove_but_leaves_user(rig: Rig) -> None:
    # GIVEN the namespace step failed (no user was created)
    rig.start(A)
    rig.invoker.fail(
        FUNCTIONS.ns_create, CalleeError(FUNCTIONS.ns_create, "status 502: XC 409", retryable=False)
    )
    provision(A, rig.worker())

    # WHEN the lab ends
    end(rig, A)

    # THEN only ns_remove runs (a failed create may have left the namespace; absent counts as removed,
    # and ns_remove deletes only what carries this deployment's label)
    assert rig.invoker.names() == ["tops-ns-remove"]
    assert rig.invoker.calls[0][1]["owner"] == A


def test_teardown_user_create_in_progress_undoes_by_recorded_intent(rig: Rig) -> None:
    # GIVEN an image where user_create was cut off after its decision was recorded: the account
    # pre-existed, and the deployment set out to add its lab role and group
    image = old_image(
        create_namespace="SUCCESS",
        create_user="IN_PROGRESS",
        deployment_status="IN_PROGRESS",
        user_preexisting=True,
        user_added_roles={"system/xc-lab-mcn-ce"},
        user_added_groups={"xc-lab-users"},
    )
    # (the call took effect, but its answer never came back)
    rig.invoker.tenant(SEC).users[EMAIL] = FakeUser(
        roles={("prod", "admin"), ("system", "xc-lab-mcn-ce")}, groups={"xc-lab-users"}
    )

    result = teardown(image, rig.worker())

    # THEN what it set out to add is revoked, and the account keeps its own role
    assert result.user is UserOutcome.REVOKED
    assert user(rig) == FakeUser(roles={("prod", "admin")})


def test_teardown_user_decision_never_recorded_leaves_user_alone(rig: Rig) -> None:
    # GIVEN an image of this worker where the account lookup itself failed (nothing was changed)
    image = old_image(create_namespace="SUCCESS", create_user="FAILED", deployment_status="FAILED")
    rig.invoker.tenant(SEC).users[EMAIL] = FakeUser(roles={("prod", "admin")})

    result = teardown(image, rig.worker())

    assert result.user is UserOutcome.UNTOUCHED
    assert rig.invoker.names() == ["tops-ns-remove"]
    assert user(rig) == FakeUser(roles={("prod", "admin")})


def test_teardown_pipeline_account_created_before_a_lost_answer_is_deleted(rig: Rig) -> None:
    # GIVEN user_create created the account but the worker never recorded SUCCESS (it was cut off)
    image = old_image(
        create_namespace="SUCCESS",
        create_user="IN_PROGRESS",
        user_preexisting=False,
        user_added_roles={"system/xc-lab-mcn-ce"},
        user_added_groups={"xc-lab-users"},
    )
    rig.invoker.tenant(SEC).users[EMAIL] = FakeUser(roles={("system", "xc-lab-mcn-ce")})

    result = teardown(image, rig.worker())

    # THEN the pipeline's own account is deleted, not leaked
    assert result.user is UserOutcome.DELETED
    assert user(rig) is None


def test_teardown_item_of_previous_worker_never_deletes_the_account(rig: Rig) -> None:
    # GIVEN an old image written by the previous worker: no ssm_base_path, no user_* attributes
    image = old_image(
        ssm_base_path=None,
        create_namespace="SUCCESS",
        create_user="SUCCESS",
        pre_lambda="NA",
        deployment_status="COMPLETED",
    )
    rig.invoker.tenant(SEC).users[EMAIL] = FakeUser(
        roles={("prod", "admin"), ("system", "xc-lab-mcn-ce"), ("ample-gull", "ves-io-admin-role")},
        groups={"xc-lab-users", "own-group"},
    )
    rig.invoker.tenant(SEC).namespaces["ample-gull"] = None  # made by the previous worker: no label

    result = teardown(image, rig.worker())

    # THEN only the lab's roles and groups are revoked (base path from the lab row); the account
    # and the unlabelled namespace are kept for a person to check
    assert result.user is UserOutcome.REVOKED
    assert rig.invoker.names() == ["tops-user-remove", "tops-ns-remove"]
    assert rig.invoker.calls[0][1]["ssm_base_path"] == SEC
    assert user(rig) == FakeUser(roles={("prod", "admin")}, groups={"own-group"})
    assert result.namespace == "kept"
    assert "ample-gull" in rig.invoker.tenant(SEC).namespaces


def test_teardown_namespace_of_another_deployment_is_kept(rig: Rig) -> None:
    # GIVEN a deployment that failed because its petname's namespace belongs to another deployment
    rig.invoker.tenant(SEC).namespaces["ample-gull"] = B
    rig.invoker.tenant(SEC).objects.add("ample-gull/ample-gull-lb")
    provisioned(rig, A)

    # WHEN it ends
    result = end(rig, A)

    # THEN the other deployment's namespace and objects are untouched
    assert result.namespace == "kept"
    assert rig.invoker.tenant(SEC).namespaces == {"ample-gull": B}
    assert rig.invoker.tenant(SEC).objects == {"ample-gull/ample-gull-lb"}


@pytest.mark.parametrize(
    ("missing", "attempted"), [("email", "create_user"), ("petname", "create_namespace")]
)
def test_teardown_record_missing_a_needed_field_fails_naming_dep_id(
    rig: Rig, missing: str, attempted: str, caplog: pytest.LogCaptureFixture
) -> None:
    # GIVEN a REMOVE image whose step was attempted but which lacks the field needed to undo it
    image = old_image(user_preexisting=False, **{attempted: "SUCCESS", missing: None})

    # WHEN it is torn down
    with pytest.raises(TeardownError) as caught:
        teardown(image, rig.worker())

    # THEN it fails (not retryable) naming the field and the deployment, logged as an error
    assert caught.value.retryable is False
    assert missing in str(caught.value) and A in str(caught.value)
    assert any(r.levelname == "ERROR" and getattr(r, "dep_id", None) == A for r in caplog.records)


def test_teardown_failure_runs_later_steps_then_raises(rig: Rig) -> None:
    # GIVEN user_remove failing transiently on every attempt
    provisioned(rig, A)
    rig.invoker.fail(
        FUNCTIONS.user_remove, CalleeError(FUNCTIONS.user_remove, "Unhandled: boom", retryable=True), times=3
    )

    # WHEN the lab ends
    with pytest.raises(TeardownError) as caught:
        end(rig, A)

    # THEN the namespace was still removed, and the failure is raised (retryable), naming the step
    assert rig.invoker.names() == ["tops-user-remove"] * 3 + ["tops-ns-remove"]
    assert caught.value.retryable
    assert caught.value.failures[0][0] == "user"
    assert "boom" in str(caught.value)


def test_teardown_permanent_failure_is_raised_not_retryable(rig: Rig) -> None:
    provisioned(rig, A)
    rig.invoker.fail(
        FUNCTIONS.ns_remove, CalleeError(FUNCTIONS.ns_remove, "status 403: denied", retryable=False)
    )

    with pytest.raises(TeardownError) as caught:
        end(rig, A)

    assert not caught.value.retryable


def test_teardown_replayed_remove_ends_in_same_state(rig: Rig) -> None:
    provisioned(rig, A)
    old = rig.delete(A)
    image = DeploymentState.from_item(old)

    teardown(image, rig.worker())
    teardown(image, rig.worker())

    tenant = rig.invoker.tenant(SEC)
    assert tenant.users == {} and tenant.namespaces == {}


def test_teardown_unknown_lab_without_base_path_but_with_steps_raises(rig: Rig) -> None:
    image = old_image(lab_id="gone0000", tenant_url=None, ssm_base_path=None, create_namespace="SUCCESS")

    with pytest.raises(TeardownError, match="ssm_base_path"):
        teardown(image, rig.worker())
