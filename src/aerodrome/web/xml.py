"""XML answers (the query protocol's) carry any text a request put in them."""

from __future__ import annotations

import re

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(value: object) -> str:
    """Text XML 1.0 can carry: characters it forbids (NUL, most controls) become U+FFFD."""
    return _NOT_XML.sub("\ufffd", str(value))
