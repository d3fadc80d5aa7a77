"""Python client of the ResidualStore HTTP API (``rstore serve``, API version 2).

>>> from rstore_client import Client
>>> c = Client("http://127.0.0.1:8080", token="...")
>>> times, kinds, x = c.embeddings(1, 0, 60)   # x: float32 [frames, dims]
"""

from .client import Client, API_VERSION
from .embeddings import decode_embeddings
from .errors import (
    APIError,
    BadRequestError,
    AuthenticationError,
    ForbiddenError,
    NotFoundError,
    ConflictError,
    PayloadTooLargeError,
    TooManyRequestsError,
    ServiceUnavailableError,
    ProtocolError,
)

__all__ = [
    "Client", "API_VERSION", "decode_embeddings",
    "APIError", "BadRequestError", "AuthenticationError", "ForbiddenError", "NotFoundError",
    "ConflictError", "PayloadTooLargeError", "TooManyRequestsError", "ServiceUnavailableError",
    "ProtocolError",
]
__version__ = "2.0.0"
