"""Bodies as they come off the wire, in the Content-Encoding the server chose."""

import gzip
import zlib


def decode_body(data: bytes, encoding: str) -> bytes:
    """A body as sent with `Content-Encoding: encoding` -> its bytes; ValueError if it is cut
    off or corrupt, or in an encoding we never ask for."""
    try:
        if encoding in ("", "identity"):
            return data
        if encoding in ("gzip", "x-gzip"):
            return gzip.decompress(data)
        if encoding == "deflate":  # zlib-wrapped as the standard says, or raw as some servers send
            try:
                return zlib.decompress(data)
            except zlib.error:
                return zlib.decompress(data, -zlib.MAX_WBITS)
    except (OSError, EOFError, zlib.error) as error:
        raise ValueError(
            f"a {encoding} body of {len(data)} bytes that does not decompress ({error})"
        ) from None
    raise ValueError(f"a body in Content-Encoding {encoding!r}, expected gzip or none")
