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


class FieldErrors(InvalidInput):
    """Input a form can show next to its fields: `fields` maps a field's name to the words.
    A form stays open with everything typed in it; elsewhere the words are the message."""

    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__(" ".join(fields.values()))
        self.fields = dict(fields)
