"""Signing in and the settings page in a real Chromium through nginx: the sign-in form, the session cookie the
page cannot read, a token made on the settings page that the API then accepts, sign-out; and no Content
Security Policy violation on the way."""
import re
import secrets

import pytest
import requests
from e2e_support import account_action
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

pytestmark = pytest.mark.e2e


def wait_for(browser, css: str, timeout: float = 30):
    return WebDriverWait(browser, timeout).until(lambda driver: driver.find_element(By.CSS_SELECTOR, css))


@pytest.fixture(scope="module")
def admin(api):
    name, password = f"admin_{secrets.token_hex(4)}", secrets.token_urlsafe(16)
    status, text = api.request("POST", "/api/auth/users", {"username": name, "password": password,
                                                            "scopes": ["admin"]})
    assert status == 201, text
    return name, password


def test_sign_out_sign_in_and_make_a_token_on_the_settings_page(browser, site_url, admin, shot):
    browser.get(f"{site_url}/")
    account_action(browser, "Sign out")
    form = wait_for(browser, "form.auth-card")
    assert browser.execute_script("return document.cookie").find("mts_session") < 0  # HttpOnly: never visible
    form.find_element(By.NAME, "username").send_keys(admin[0])
    form.find_element(By.NAME, "password").send_keys("not the password")
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    assert "wrong user name or password" in wait_for(browser, ".auth-error").text
    form.find_element(By.NAME, "password").clear()
    form.find_element(By.NAME, "password").send_keys(admin[1])
    form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
    wait_for(browser, ".topbar")  # the dashboard
    stored = browser.execute_script("return JSON.stringify([window.localStorage, window.sessionStorage])")
    assert "mts_" not in stored and "csrf" not in stored.lower() and not re.search(r"[0-9a-f]{64}", stored)
    account_action(browser, "Settings")
    wait_for(browser, "input[name=token-name]").send_keys("made in the browser")
    browser.find_element(By.CSS_SELECTOR, "section[aria-label='API tokens'] button[type=submit]").click()
    token = wait_for(browser, "code[data-token]").text
    shot(browser, "settings")
    assert token.startswith("mts_")
    listed = requests.get(f"{site_url}/api/metrics", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert listed.status_code == 403  # a write token (the form's default) may not read
    wrote = requests.post(f"{site_url}/api/write", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                          json=[{"name": f"e2e_token_{secrets.token_hex(3)}", "value": 1}])
    assert wrote.status_code == 201, wrote.text
    violations = [entry["message"] for entry in browser.get_log("browser")
                  if "Content Security Policy" in entry["message"]]
    assert not violations, violations
