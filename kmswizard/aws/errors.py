"""Turn botocore's exceptions into one plain line for the user."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore import exceptions as bx

from kmswizard.errors import UserError

_CODES = {
    "NotFoundException": "not found",
    "AccessDeniedException": "access denied",
    "KMSInvalidStateException": "the key is not in a state that allows this",
    "MalformedPolicyDocumentException": "KMS rejected the key policy",
    "LimitExceededException": "a KMS limit was exceeded",
    "ThrottlingException": "KMS throttled the requests (still, after retries)",
    "UnrecognizedClientException": "the AWS credentials are not valid",
    "InvalidClientTokenId": "the AWS credentials are not valid",
    "ExpiredTokenException": "the AWS session token has expired",
    "InvalidArnException": "invalid ARN",
    "DependencyTimeoutException": "KMS timed out",
    "KMSInternalException": "KMS had an internal error",
}


class AwsError(UserError):
    """An AWS call failed. ``code`` is the AWS error code, or for transport failures
    ``ReadTimeout`` / ``ConnectionClosed`` / ``EndpointConnection`` (the call's outcome may be
    unknown for the first two)."""

    def __init__(self, message: str, code: str, aws_message: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.aws_message = aws_message

    @property
    def outcome_unknown(self) -> bool:
        """The request may have reached AWS and been carried out."""
        return self.code in ("ReadTimeout", "ConnectionClosed") or self.code.startswith(
            ("InternalFailure", "KMSInternal", "ServiceUnavailable", "DependencyTimeout", "5")
        )


def describe_client_error(exc: bx.ClientError, operation: str, target: str) -> str:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", "Unknown"))
    message = str(error.get("Message", "")).strip()
    summary = _CODES.get(code, code)
    detail = f": {message}" if message else ""
    return f"{operation} {target}: {summary}{detail}"


@contextmanager
def aws_errors(operation: str, target: str, endpoint: str | None = None) -> Iterator[None]:
    """Map every botocore failure inside the block to a UserError naming the call and target."""
    try:
        yield
    except bx.ClientError as exc:
        error = exc.response.get("Error", {})
        code = str(error.get("Code", "Unknown"))
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status and int(status) >= 500 and code in ("Unknown", ""):
            code = str(status)
        raise AwsError(
            describe_client_error(exc, operation, target), code, str(error.get("Message", ""))
        ) from None
    except (bx.NoCredentialsError, bx.PartialCredentialsError):
        raise UserError(
            "no AWS credentials found: configure them (aws configure, AWS_PROFILE or "
            "--aws-profile), or try kmswizard without AWS using --demo"
        ) from None
    except bx.ProfileNotFound as exc:
        raise UserError(f"AWS named profile {exc.kwargs.get('profile')!r} not found") from None
    except bx.NoRegionError:
        raise UserError(
            "no AWS region: pass --region, set region in the profile, or set AWS_REGION"
        ) from None
    except (bx.SSOTokenLoadError, bx.UnauthorizedSSOTokenError, bx.TokenRetrievalError):
        raise UserError("the AWS SSO session has expired: run aws sso login") from None
    except (bx.EndpointConnectionError, bx.ConnectTimeoutError) as exc:
        where = endpoint or getattr(exc, "kwargs", {}).get("endpoint_url", "the KMS endpoint")
        raise AwsError(
            f"{operation} {target}: cannot reach {where}", "EndpointConnection"
        ) from None
    except bx.ReadTimeoutError:
        raise AwsError(f"{operation} {target}: KMS did not answer in time", "ReadTimeout") from None
    except (bx.ConnectionClosedError, bx.ResponseStreamingError):
        raise AwsError(
            f"{operation} {target}: the connection was dropped", "ConnectionClosed"
        ) from None
    except bx.BotoCoreError as exc:
        raise UserError(f"{operation} {target}: {exc}") from None
