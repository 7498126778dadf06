from __future__ import annotations

import json
import logging

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from shared import log
from shared.secret import Secret

CANARY_TOKEN = "canary-token-AbC123xyz789"


@pytest.fixture(scope="module")
def canary_key_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def test_mask_sensitive_keys_at_any_depth():
    masked = log.mask(
        {
            "token": "x",
            "nested": [{"Authorization": "APIToken y", "password": "p"}],
            "token_name": "visible",
            "name": "ok",
            "private_key": {"url": "z"},
        }
    )
    assert masked["token"] == "***"
    assert masked["nested"][0] == {"Authorization": "***", "password": "***"}
    assert masked["private_key"] == "***"
    assert masked["name"] == "ok"


def test_mask_text_pem_and_auth_header(canary_key_pem):
    text = f"key={canary_key_pem} header: APIToken abcdefgh123"
    out = log.mask_text(text)
    assert "PRIVATE KEY-----***" in out
    assert canary_key_pem.splitlines()[1] not in out
    assert "abcdefgh123" not in out and "APIToken ***" in out


def test_secret_never_shows():
    secret = Secret(CANARY_TOKEN)
    assert str(secret) == "***" and CANARY_TOKEN not in repr(secret) and CANARY_TOKEN not in f"{secret}"
    assert secret.reveal() == CANARY_TOKEN


def test_logger_masks_canaries_on_every_path(capsys, monkeypatch, canary_key_pem):
    # GIVEN a worker logger at DEBUG and a registered secret
    monkeypatch.setenv("POWERTOOLS_LOG_LEVEL", "DEBUG")
    logger = log.get_logger("canary_worker")
    Secret(CANARY_TOKEN)
    shared_logger = logging.getLogger("shared.canary")
    # WHEN secrets travel through messages, extras, exceptions and library loggers
    logger.debug(f"token is {CANARY_TOKEN}")
    logger.info("payload", extra={"body": {"token_value": CANARY_TOKEN, "pem": canary_key_pem}})
    try:
        raise RuntimeError(f"failed with {CANARY_TOKEN} and {canary_key_pem}")
    except RuntimeError:
        logger.exception("boom")
    shared_logger.warning("header APIToken %s", CANARY_TOKEN)
    # THEN nothing printed contains them, and the lines are JSON
    out = capsys.readouterr()
    text = out.out + out.err
    assert text.count("\n") >= 4
    assert CANARY_TOKEN not in text
    body_line = canary_key_pem.splitlines()[1]
    assert body_line not in text
    for line in out.out.strip().splitlines():
        json.loads(line)


def test_mask_text_truncated_and_json_escaped_pem(canary_key_pem):
    escaped = json.dumps({"body": canary_key_pem[:120]})
    out = log.mask_text(escaped)
    assert canary_key_pem.splitlines()[1][:40] not in out
    json.loads(out)  # masking kept the JSON intact


def test_get_logger_keeps_sdk_loggers_above_debug(monkeypatch):
    # GIVEN the root logger at DEBUG (AWS_LAMBDA_LOG_LEVEL=DEBUG does this in Lambda)
    monkeypatch.setattr(logging.getLogger(), "level", logging.DEBUG)
    logging.getLogger("botocore").setLevel(logging.NOTSET)
    # WHEN a worker logger is made
    log.get_logger("quiet_check")
    # THEN botocore, which would log decrypted SSM values at DEBUG, stays at INFO
    assert logging.getLogger("botocore").getEffectiveLevel() >= logging.INFO
    assert logging.getLogger("botocore.parsers").getEffectiveLevel() >= logging.INFO


def test_secret_with_line_break_is_masked_in_every_escaped_form():
    # GIVEN a registered secret spanning two lines
    token = "tokhead-AAAA1111\ntoktail-BBBB2222"
    Secret(token)
    # WHEN it shows up raw, as a repr (a library's error message) or JSON-escaped (a stored body)
    texts = [
        f"header: {token}",
        f"bad header {token!r}",
        json.dumps({"detail": token}),
        "second line alone: toktail-BBBB2222",
    ]
    # THEN no part of it survives
    for text in texts:
        masked = log.mask_text(text)
        assert "AAAA1111" not in masked and "BBBB2222" not in masked, masked


def test_errors_are_masked_when_built():
    # GIVEN a message from a library that echoes a header with a registered token
    from shared.errors import RetryableError
    from shared.xc.errors import XCTransportError

    Secret(CANARY_TOKEN)
    transport = XCTransportError(
        f"InvalidHeader: ('Authorization', 'APIToken {CANARY_TOKEN}\\n')",
        method="GET",
        url="https://t.test/api",
        sent=False,
    )
    plain = RetryableError(f"callee said: token={CANARY_TOKEN}")
    # THEN the message (and so every log, stored reason or result made from it) is clean
    for error in (transport, plain):
        assert CANARY_TOKEN not in str(error) and CANARY_TOKEN not in repr(error)
