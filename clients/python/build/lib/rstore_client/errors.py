"""Typed errors from the API's error bodies: ``{"error": {"code": ..., "message": ...}}``.

The class follows the HTTP status; ``code`` keeps the API's own error code (``bad_parameter``,
``over_limit``, ``unknown_video``, ``not_ready``, ``busy``, ``store_timeout``...), so a caller can
branch on either.
"""


class APIError(Exception):
    """An error answer of the server: ``status`` (HTTP), ``code`` (the API's), ``message``."""

    def __init__(self, status, code, message, retry_after=None):
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        #: Seconds the server asked to wait before trying again (503, 429), if it said.
        self.retry_after = retry_after


class BadRequestError(APIError):
    """400: a parameter is missing, malformed or over a limit (``bad_parameter``, ``over_limit``)."""


class AuthenticationError(APIError):
    """401: no token, or a wrong one."""


class ForbiddenError(APIError):
    """403: the request is understood but refused (writes without a token, paths outside the library roots)."""


class NotFoundError(APIError):
    """404: no such video, frame, job or route."""


class ConflictError(APIError):
    """409: the video is not ready (still indexing, failed) or is being indexed elsewhere."""


class PayloadTooLargeError(APIError):
    """413: the request body is over the server's limit."""


class TooManyRequestsError(APIError):
    """429: too many index jobs queued; try later."""


class ServiceUnavailableError(APIError):
    """503: the server is busy or its store does not answer (``busy``, ``store_timeout``); see ``retry_after``."""


class ProtocolError(Exception):
    """The server's answer is not what the API promises (malformed JSON or binary embeddings)."""


_BY_STATUS = {
    400: BadRequestError,
    401: AuthenticationError,
    403: ForbiddenError,
    404: NotFoundError,
    409: ConflictError,
    413: PayloadTooLargeError,
    429: TooManyRequestsError,
    503: ServiceUnavailableError,
}


def error_for(status, code, message, retry_after=None):
    """The typed error for an HTTP status (``APIError`` itself for the others)."""
    return _BY_STATUS.get(status, APIError)(status, code, message, retry_after)
