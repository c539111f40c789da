"""The one table that turns domain errors into AWS errors on the MWAA wire."""

from __future__ import annotations

from aerodrome import errors

# domain error -> (AWS error code, HTTP status)
# (first match wins: a subclass comes before its base)
TABLE: dict[type[errors.AerodromeError], tuple[str, int]] = {
    errors.TooLarge: ("ValidationException", 413),
    errors.NotFound: ("ResourceNotFoundException", 404),
    errors.Invalid: ("ValidationException", 400),
    errors.Conflict: ("ValidationException", 400),
    errors.AccessDenied: ("AccessDeniedException", 403),
    errors.Temporary: ("ServiceUnavailableException", 503),
}

# what the signature check says (the MWAA API's codes) -> what query-protocol services (STS,
# CloudWatch) say
QUERY_AUTH_CODES = {"UnrecognizedClientException": "InvalidClientTokenId",
                    "InvalidSignatureException": "SignatureDoesNotMatch",
                    "IncompleteSignatureException": "IncompleteSignature",
                    "MissingAuthenticationTokenException": "MissingAuthenticationToken"}

INTERNAL = ("InternalServerException", 500, "An internal error occurred; the control-plane log has the details.")


def to_aws(exc: Exception) -> tuple[str, int, str]:
    """(code, HTTP status, message) for an exception raised while serving a request."""
    if isinstance(exc, errors.Unauthenticated):
        return exc.code, 403, str(exc)
    for kind, (code, status) in TABLE.items():
        if isinstance(exc, kind):
            return code, status, str(exc)
    return INTERNAL


def body(code: str, message: str) -> dict:
    # the model names AccessDeniedException's member `Message`; the others use `message`
    return {"Message": message} if code == "AccessDeniedException" else {"message": message}


def rest_api_error(exc: errors.RestApiFailure) -> tuple[str, int, dict]:
    """Airflow's own error status, as MWAA returns it: HTTP 400 with the status and response inside."""
    code = "RestApiClientException" if exc.status < 500 else "RestApiServerException"
    return code, 400, {"RestApiStatusCode": exc.status, "RestApiResponse": exc.response, "message": str(exc)}
