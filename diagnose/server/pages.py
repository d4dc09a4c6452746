"""The pages for people, in Simplified Chinese and English: the hotline's view, the outage board
and the measure. Rendered on the server from Jinja2 templates with autoescaping (a report is
input from the internet); assets come from this server; no script is needed.

People log in with a read token (DIAGNOSE_SERVER_READ_TOKENS) and get a signed session cookie
that holds the time and a keyed fingerprint of the token, never the token; scripts send the
bearer header instead. A session ends after SESSION_HOURS, at logout, or when its token is
removed from the setting.
"""
from __future__ import annotations

import datetime
import functools
import hashlib
import hmac
import time
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from ..engine.pack import PLACEHOLDER
from ..i18n import CONFIDENCE_NAMES, LANGS, STATUS_NAMES, check_name, t
from ..render.phone import SIDE_NAMES
from . import auth, charts, intake, measure, store
from .config import SESSION_HOURS

HERE = Path(__file__).resolve().parent
COOKIE = "diagnose_session"
LANG_COOKIE = "diagnose_lang"


@functools.lru_cache(maxsize=1)
def _templates() -> Environment:
    environment = Environment(loader=FileSystemLoader(HERE / "templates"),
                              autoescape=select_autoescape(default=True, default_for_string=True),
                              trim_blocks=True, lstrip_blocks=True)
    environment.filters["when"] = when
    return environment


@functools.lru_cache(maxsize=1)
def _rules() -> dict[str, Any]:
    """The shipped rule pack by code: titles and advice for phone reports and top codes."""
    from ..checks import PROVIDES
    from ..engine import pack
    return {rule.code: rule for rule in pack.load(None, PROVIDES)}


def when(iso: str | None) -> str:
    """2026-12-02T14:28:28Z -> 2026-12-02 14:28 UTC (the pages show times to the minute)."""
    return "" if not iso else f"{iso[:10]} {iso[11:16]} UTC"


def language(request: Request) -> str:
    """?lang=, else the cookie a ?lang= set, else Accept-Language, else English."""
    asked = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if asked in LANGS:
        return asked
    for part in request.headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh_CN"
        if tag.startswith("en"):
            return "en"
    return "en"


def install(app: FastAPI) -> None:
    engine, settings, tokens = app.state.engine, app.state.settings, app.state.tokens
    secret = store.key(engine, "session")
    app.add_middleware(SessionMiddleware, secret_key=secret, session_cookie=COOKIE,
                       max_age=SESSION_HOURS * 3600, same_site="strict", https_only=False)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    cache: dict[str, tuple[float, Any]] = {}

    def fingerprint(token: str) -> str:
        return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()[:32]

    live = {fingerprint(token) for token in settings.read_tokens}

    def signed_in(request: Request) -> bool:
        token = auth.bearer(request.headers.get("authorization"))
        if token is not None:
            return tokens.role(token) == auth.READ
        session = request.session
        fresh = time.time() - session.get("at", 0) < SESSION_HOURS * 3600
        return fresh and session.get("token") in live

    def render(request: Request, name: str, status: int = 200, **values) -> HTMLResponse:
        lang = language(request)

        def translate(message: str, **fields) -> str:
            return t(lang, message, **fields)

        def link(path: str, **query) -> str:
            query = {"lang": lang, **{k: v for k, v in query.items() if v is not None}}
            return path + "?" + "&".join(f"{quote(str(k))}={quote(str(v))}" for k, v in query.items())
        html = _templates().get_template(name).render(
            _=translate, lang=lang, link=link, path=request.url.path, side_name=lambda side:
            translate(SIDE_NAMES.get(side, side)), status_name=lambda s: translate(
                STATUS_NAMES.get(s, s)), check_name=lambda c: check_name(lang, c),
            confidence_name=lambda c: translate(CONFIDENCE_NAMES.get(c, c)),
            signed_in=signed_in(request), **values)
        response = HTMLResponse(html, status_code=status, headers={
            "Content-Security-Policy": "default-src 'self'; style-src 'self'; img-src 'self' data:; "
                                       "script-src 'none'; frame-ancestors 'none'",
            "X-Content-Type-Options": "nosniff", "Referrer-Policy": "no-referrer",
            "Cache-Control": "no-store", "Content-Language": lang.replace("_", "-")})
        if request.query_params.get("lang") in LANGS:
            response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="strict")
        return response

    def to_login(request: Request) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target)}&lang={language(request)}", 303)

    def safe_next(value: str | None) -> str:
        return value if value and value.startswith("/") and not value.startswith("//") else "/"

    @app.get("/login", response_class=HTMLResponse, include_in_schema=False)
    async def login_form(request: Request, next: str = "/"):
        return render(request, "login.html", next=safe_next(next), failed=False)

    @app.post("/login", include_in_schema=False)
    async def login(request: Request):
        form = await request.form()
        token = str(form.get("token") or "").strip()
        target = safe_next(str(form.get("next") or "/"))
        if tokens.role(token) != auth.READ:
            return render(request, "login.html", status=401, next=target, failed=True)
        request.session.clear()
        request.session.update({"token": fingerprint(token), "at": int(time.time())})
        return RedirectResponse(target, 303)

    @app.post("/logout", include_in_schema=False)
    async def logout(request: Request):
        request.session.clear()
        return RedirectResponse(f"/login?lang={language(request)}", 303)

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def hotline(request: Request, q: str = ""):
        if not signed_in(request):
            return to_login(request)
        query = q.strip()[:80]
        found, kind = [], None
        if query:
            def look() -> tuple[list, str]:
                try:
                    report_id = str(uuid.UUID(query))
                except ValueError:
                    report_id = None
                if report_id and store.get(engine, report_id):
                    return [], "id:" + report_id
                digest = intake.find_digest(query)
                if digest:
                    return store.search(engine, digest=digest, limit=50), "digest"
                return store.search(engine, ticket=query, limit=50), "ticket"
            found, kind = await run_in_threadpool(look)
            if kind.startswith("id:"):
                return RedirectResponse(f"/reports/{kind[3:]}?lang={language(request)}", 303)
        return render(request, "hotline.html", query=query, found=found, kind=kind)

    @app.get("/reports/{report_id}", response_class=HTMLResponse, include_in_schema=False)
    async def report_page(request: Request, report_id: str):
        if not signed_in(request):
            return to_login(request)
        stored = await run_in_threadpool(store.get, engine, report_id)
        if stored is None:
            return render(request, "missing.html", status=404, report_id=report_id)
        stored["locators"] = await run_in_threadpool(store.locators_of, engine, report_id)
        lang = language(request)
        rule = _rules().get(stored["code"])
        explained = None
        if stored["source"] == "phone":
            from ..render.phone import decoded
            explained = decoded(stored["report"]["decoded"], rule, lang)
        return render(request, "report.html", stored=stored, report=stored["report"],
                      explained=explained)

    @app.get("/outages", response_class=HTMLResponse, include_in_schema=False)
    async def board(request: Request):
        if not signed_in(request):
            return to_login(request)
        since = store.now() - datetime.timedelta(days=7)
        found = await run_in_threadpool(lambda: store.list_outages(engine, settings.outage,
                                                                   since=since))
        return render(request, "outages.html", open=[o for o in found if o["closed_at"] is None],
                      closed=[o for o in found if o["closed_at"] is not None])

    @app.get("/measure", response_class=HTMLResponse, include_in_schema=False)
    async def measure_page(request: Request):
        if not signed_in(request):
            return to_login(request)
        today = store.now().date()
        cached = cache.get("measure")
        if cached is None or time.monotonic() - cached[0] > settings.measure_cache_s \
                or cached[1].days[-1][0] != today:
            rows = await run_in_threadpool(store.counts_by_day, engine, measure.first_day(today))
            cached = (time.monotonic(), measure.compute(rows, today))
            cache["measure"] = cached
        figures = cached[1]
        lang = language(request)
        rules = _rules()
        legend = [(side, t(lang, SIDE_NAMES[side]), charts.COLOURS[side]) for side in measure.SIDES]
        daily = charts.stacked_bars([(day.strftime("%m-%d"), sides) for day, sides in figures.days],
                                    measure.SIDES, t(lang, "Reports per day by side"))
        monthly = charts.stacked_bars(figures.months, measure.SIDES,
                                      t(lang, "Reports per month by side"))
        home, tickets = figures.share(figures.at_home_30d), figures.share(figures.tickets_30d)
        share = charts.share_bar([
            (t(lang, "settled at home {percent}", percent=f"{home:.0%}"), home, "#2e7d32"),
            (t(lang, "tickets {percent}", percent=f"{tickets:.0%}"), tickets, "#c62828"),
            (t(lang, "other {percent}", percent=f"{1 - home - tickets:.0%}"),
             max(0.0, 1 - home - tickets), "#90a4ae")])
        top = [(code, count, PLACEHOLDER.sub("…", rules[code].title[lang]) if code in rules else "")
               for code, count in figures.top_codes]
        return render(request, "measure.html", figures=figures, daily=daily, monthly=monthly,
                      share=share, legend=legend, top=top, home=home, tickets=tickets)
