"""What a submission can come to: the closed set of codes, their outcome and message."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..i18n import N_

DELIVERED, QUEUED, REJECTED, ERROR = "delivered", "queued", "rejected", "error"
OUTCOMES = (DELIVERED, QUEUED, REJECTED, ERROR)

# code -> (outcome, English message, marked for translation: the CLI shows it in its language).
_CODES: dict[str, tuple[str, str]] = {
    "delivered": (DELIVERED, N_("The report was delivered.")),
    "already_delivered": (DELIVERED, N_("The operator already had this report.")),
    "unreachable": (QUEUED, N_("Could not reach the ticket server; the report is queued and will be sent later.")),
    "timeout": (QUEUED, N_("The ticket server did not answer in time; the report is queued and will be sent later.")),
    "server_busy": (QUEUED, N_("The ticket server is busy; the report is queued and will be sent later.")),
    "server_error": (QUEUED, N_("The ticket server had a problem; the report is queued and will be sent later.")),
    "tls_error": (QUEUED, N_("The ticket server's certificate could not be verified; the report is queued.")),
    "unexpected_response": (QUEUED, N_("The ticket server gave an unexpected answer; the report is queued.")),
    "in_progress": (QUEUED, N_("Another diagnose is sending this report right now.")),
    "rejected": (REJECTED, N_("The ticket server refused the report; it is kept in the queue.")),
    "rejected_auth": (REJECTED, N_("The ticket server refused the credentials (check the token); the report is kept in the queue.")),
    "no_ticket_url": (ERROR, N_("The profile has no ticket address; the report is queued.")),
    "bad_url": (ERROR, N_("The ticket address in the profile is not valid; the report is queued.")),
    "insecure_url": (ERROR, N_("The ticket address must start with https://; the report is queued.")),
    "bad_token": (ERROR, N_("The token variable holds characters a token cannot have; the report is queued.")),
    "bad_file": (ERROR, N_("A queued file could not be read and was moved to the 'bad' folder.")),
    "not_saved": (ERROR, N_("The report could not be saved and was not delivered.")),
}
MESSAGES: dict[str, str] = {code: text for code, (_, text) in _CODES.items()}
OUTCOME_OF: dict[str, str] = {code: outcome for code, (outcome, _) in _CODES.items()}
TRANSIENT = frozenset({"unreachable", "timeout", "server_busy", "server_error"})


class ReportError(ValueError):
    """The report cannot be queued: not a JSON object, no valid id, or not serialisable."""


@dataclass(frozen=True)
class SubmitResult:
    id: str
    outcome: str                # delivered | queued | rejected | error
    code: str                   # a key of MESSAGES
    http_status: int | None = None   # the last HTTP status seen, if any
    attempts: int = 0           # POSTs made
    message: str = ""           # MESSAGES[code]
    detail: str | None = None   # untranslated context (never the token, never the server's body)
    path: str | None = None     # where the report is now; None once delivered

    @property
    def in_queue(self) -> bool:
        return self.path is not None


@dataclass(frozen=True)
class PendingReport:
    id: str
    state: str                  # waiting | rejected | bad
    path: str
    queued_at: str              # UTC ISO-8601 (file time)
    http_status: int | None = None   # for rejected: the refusal's status
    code: str | None = None     # for rejected: rejected | rejected_auth
    detail: str | None = None   # for rejected: the refusal's sanitised reason


def result(report_id: str, code: str, **fields: Any) -> SubmitResult:
    path = fields.pop("path", None)
    return SubmitResult(id=report_id, outcome=OUTCOME_OF[code], code=code, message=MESSAGES[code],
                        path=None if path is None else str(path), **fields)
