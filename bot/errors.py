"""Errors the loop raises on purpose. Their text is safe and polite to show to the person."""


class LoopError(Exception):
    """Something the person can fix; `str(err)` is the message to show them."""


class NotFound(LoopError):
    pass


class NotAllowed(LoopError):
    pass


class InvalidInput(LoopError):
    pass


class InvalidState(LoopError):
    pass
