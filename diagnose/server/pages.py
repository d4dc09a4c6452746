"""The pages for people (filled in by a later change)."""


def install(app) -> None:
    return None
