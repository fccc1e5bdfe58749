"""Every form and query value the app reads is free of control characters, and a
JSON body too deep to parse is a 400.

Flask's request keeps its parameters in `parameter_storage_class`; this one strips
control characters (`storage.text_safety`) from every text key and value as the request
is parsed, so webhooks, the API's query parameters and console forms all get clean text.
The log says when something was stripped.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Request, abort, request
from werkzeug.datastructures import ImmutableMultiDict, iter_multi_items

from storage.text_safety import has_control, strip_control

log = logging.getLogger(__name__)


def _clean(value: Any) -> Any:
    if isinstance(value, str) and has_control(value):
        log.warning("control characters stripped from a request value: %r", value[:80])
        return strip_control(value)
    return value


class CleanMultiDict(ImmutableMultiDict):
    """An ImmutableMultiDict whose text keys and values have no control characters.

    `as_sent` keeps the parameters exactly as received: Twilio signs those.
    """

    as_sent: ImmutableMultiDict

    def __init__(self, mapping: Any = None) -> None:
        pairs = [] if mapping is None else list(iter_multi_items(mapping))
        super().__init__([(_clean(key), _clean(value)) for key, value in pairs])
        self.as_sent = ImmutableMultiDict(pairs)


def as_sent(parameters: ImmutableMultiDict) -> ImmutableMultiDict:
    """The parameters as the client sent them (before control characters were stripped)."""
    return getattr(parameters, "as_sent", parameters)


class CleanRequest(Request):
    """Clean parameters; a JSON body nested too deep to read is a bad request, not a
    crash (Python's parser raises RecursionError near 1,000 levels)."""

    parameter_storage_class = CleanMultiDict

    def get_json(self, force: bool = False, silent: bool = False, cache: bool = True) -> Any:
        try:
            return super().get_json(force=force, silent=silent, cache=cache)
        except RecursionError as problem:
            log.warning("a JSON body nested too deep was refused (%s)", self.path)
            if silent:
                return None
            return self.on_json_loading_failed(ValueError(str(problem)))


def clean_requests(app: Flask) -> None:
    """Clean every request's parameters; a path part with control characters is a 404."""
    app.request_class = CleanRequest

    @app.url_value_preprocessor
    def _refuse_control_in_path(endpoint: str | None, values: dict[str, Any] | None) -> None:
        # Such a part names no record (PostgreSQL cannot even compare a NUL).
        if values and any(isinstance(v, str) and has_control(v) for v in values.values()):
            log.warning("a path with control characters was refused: %r", request.path[:80])
            abort(404)
