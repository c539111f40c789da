"""Domain errors. Only api/aws/errors.py knows how these map to AWS error codes."""


class AerodromeError(Exception):
    """Base of every error the domain raises on purpose."""


class NotFound(AerodromeError):
    """The named thing does not exist."""


class Invalid(AerodromeError):
    """The input breaks a rule; the message says which and how to fix it."""


class TooLarge(Invalid):
    """The request body is larger than the listener accepts."""

    def __init__(self, limit: int):
        super().__init__(f"The request body is larger than {limit} bytes; send a smaller request.")
        self.limit = limit


class Conflict(AerodromeError):
    """The request is valid but not in the resource's current state."""


class AccessDenied(AerodromeError):
    """The caller may not do this."""


class Unauthenticated(AerodromeError):
    """The request is not signed, or signed with an unknown or wrong key."""

    def __init__(self, message: str, *, code: str = "UnrecognizedClientException"):
        super().__init__(message)
        self.code = code


class Temporary(AerodromeError):
    """A step could not finish yet; retry after `delay` seconds."""

    def __init__(self, message: str, *, delay: float = 1.0):
        super().__init__(message)
        self.delay = delay


class Permanent(AerodromeError):
    """A step failed for good; the message says what failed, where the log is, what to do."""


class RestApiFailure(AerodromeError):
    """Airflow's REST API answered an InvokeRestApi call with an error status."""

    def __init__(self, message: str, *, status: int, response: object):
        super().__init__(message)
        self.status = status
        self.response = response
