"""The pages in a real headless browser (Debian's chromium through chromium-driver and
Selenium), in both languages, against a running diagnose-server on SQLite and on PostgreSQL.
Screenshots are kept in build/test-artifacts/server/."""
from __future__ import annotations

import json
import os
import shutil
import uuid
from pathlib import Path

import pytest
import requests

from . import reports
from .conftest import READ_TOKEN, WRITE_TOKEN
from .processes import Server

pytestmark = pytest.mark.timeout(300)
ARTIFACTS = Path(__file__).resolve().parents[2] / "build" / "test-artifacts" / "server"
CHROMIUM, DRIVER = shutil.which("chromium"), shutil.which("chromedriver")


@pytest.fixture(scope="module")
def browser():
    if not (CHROMIUM and DRIVER):
        if os.environ.get("CI"):
            pytest.fail("chromium and chromium-driver are missing in CI: tests/run installs them")
        pytest.skip("needs Debian's chromium and chromium-driver (tests/run installs them)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                     "--window-size=1200,1400", "--no-first-run", "--disable-extensions"):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def server(request, tmp_path_factory):
    folder = tmp_path_factory.mktemp("browser")
    db_url = f"sqlite:///{folder / 'server.sqlite3'}"
    if request.param == "postgresql":
        db_url = request.getfixturevalue("postgres").fresh_database("browser" + uuid.uuid4().hex[:8])
    running = Server(db_url, {"DIAGNOSE_SERVER_TOKENS": WRITE_TOKEN,
                              "DIAGNOSE_SERVER_READ_TOKENS": READ_TOKEN}, folder)
    posted = []
    for side, count in (("line", 3), ("user", 5), ("home", 2), ("isp", 1), ("none", 2)):
        for _ in range(count):
            report = reports.make(side, ac="BRAS-Haidian-3" if side == "line" else None,
                                  installation=str(uuid.uuid4()),
                                  title='Line down <b>"quoted"</b>' if side == "line" else None)
            answer = requests.post(f"{running.url}/v1/reports", data=json.dumps(report), timeout=10,
                                   headers={"Authorization": f"Bearer {WRITE_TOKEN}",
                                            "Content-Type": "application/json"})
            assert answer.status_code == 201
            posted.append(report)
    yield running, posted, request.param
    running.stop()


def click_and_load(driver, css: str) -> None:
    """Click what submits or links, and wait until the next page replaced this one: a click
    returns before the navigation it starts has finished."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait
    page = driver.find_element(By.TAG_NAME, "html")
    driver.find_element(By.CSS_SELECTOR, css).click()
    WebDriverWait(driver, 60).until(expected_conditions.staleness_of(page))


def shot(driver, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(ARTIFACTS / f"{name}.png"))


@pytest.mark.parametrize("lang, words", [
    ("zh_CN", {"login": "登录", "board": "正在发生的故障", "hotline": "查找报告", "measure": "每日报告"}),
    ("en", {"login": "Log in", "board": "Open outages", "hotline": "Find a report",
            "measure": "Reports per day by side"}),
])
def test_the_pages_in_a_browser(browser, server, lang, words):
    from selenium.webdriver.common.by import By
    running, posted, database = server
    browser.delete_all_cookies()
    browser.get(f"{running.url}/outages?lang={lang}")
    assert "/login" in browser.current_url
    assert words["login"] in browser.find_element(By.TAG_NAME, "h1").text
    browser.find_element(By.ID, "token").send_keys(READ_TOKEN)
    click_and_load(browser, "form.login button")
    assert browser.current_url.split("?")[0].endswith("/outages")
    assert words["board"] in browser.find_element(By.TAG_NAME, "h1").text
    row = browser.find_element(By.CSS_SELECTOR, "table.board tbody tr")
    assert "ac:BRAS-Haidian-3" in row.text and " 3 " in f" {row.text} "
    shot(browser, f"outages-{lang}-{database}")

    line_report = next(r for r in posted if r["verdict"]["side"] == "line")
    browser.get(f"{running.url}/?lang={lang}")
    assert words["hotline"] in browser.find_element(By.TAG_NAME, "h1").text
    box = browser.find_element(By.ID, "q")
    box.send_keys(line_report["digest"].lower())
    click_and_load(browser, "form.search button")
    click_and_load(browser, "table.list tbody a")
    title = browser.find_element(By.CSS_SELECTOR, "section.verdict h2").text
    assert title == 'Line down <b>"quoted"</b>'          # shown as text, never as markup
    assert browser.find_elements(By.CSS_SELECTOR, "section.verdict h2 b") == []
    shot(browser, f"report-{lang}-{database}")

    browser.get(f"{running.url}/measure?lang={lang}")
    assert words["measure"] in browser.page_source
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert len(charts) == 2 and all(chart.size["width"] > 300 for chart in charts)
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.chart rect")) >= 5
    headline = browser.find_element(By.CSS_SELECTOR, "p.headline").text
    assert "13" in headline and "54%" in headline and "31%" in headline   # 7/13 at home, 4/13 tickets
    shot(browser, f"measure-{lang}-{database}")
    logs = browser.get_log("browser") if hasattr(browser, "get_log") else []
    assert not [entry for entry in logs if entry.get("level") == "SEVERE"], logs
