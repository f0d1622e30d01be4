"""SPEC §11: production settings from the environment, the Content-Security-Policy and error pages."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import Client, RequestFactory
from django.urls import reverse
from django.views.defaults import server_error

from tests import factories

ROOT = Path(__file__).resolve().parents[1]
# The README's production environment.
PRODUCTION = {
    "DATABASE_URL": "postgres://ion:secret@db.internal:5432/ion_runs",
    "SECRET_KEY": "b4Yq7cV0pLr2hT9xWm3sKd8ZfJu6NeAg1QiXoBy5Rz-Hv_CtEw",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "runs.example.com",
}
SETTINGS = [
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
]


def run_django(code: str, **env: str) -> subprocess.CompletedProcess:
    """Run `code` after django.setup() in a fresh interpreter, so settings.py reads `env` anew."""
    # Nothing of the test run's own environment (DATABASE_URL, DJANGO_ALLOW_ASYNC_UNSAFE…) leaks in.
    base = {"PATH": os.environ["PATH"], "DJANGO_SETTINGS_MODULE": "ion_runs.settings"}
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup()\n{code}"],
        cwd=ROOT,
        env=base | env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_settings(**env: str) -> dict:
    result = run_django(
        f"from django.conf import settings; import json; print(json.dumps({{n: getattr(settings, n, None) "
        f"for n in {SETTINGS!r}}}))",
        **PRODUCTION | env,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def check_deploy(**env: str) -> subprocess.CompletedProcess:
    return run_django(
        "from django.core.management import call_command\n"
        "call_command('check', deploy=True, fail_level='WARNING')",
        **PRODUCTION | env,
    )


@pytest.mark.parametrize("proxy", [{}, {"SECURE_PROXY_SSL_HEADER": "X-Forwarded-Proto"}])
def test_check_deploy_is_clean_with_the_readme_environment(proxy):
    result = check_deploy(**proxy)
    assert result.returncode == 0, result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_check_deploy_on_a_plain_http_network_warns_only_about_https():
    # The README lists these four warnings as the price of SECURE_COOKIES=false.
    result = check_deploy(SECURE_COOKIES="false")
    assert result.returncode == 1
    assert set(re.findall(r"\(security\.(W\d+)\)", result.stderr)) == {"W012", "W016", "W004", "W008"}


def test_production_is_https_only_by_default():
    assert production_settings() == {
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_SSL_REDIRECT": True,
        "SECURE_HSTS_SECONDS": 365 * 24 * 3600,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
        "SECURE_HSTS_PRELOAD": True,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_secure_cookies_false_turns_https_off_for_a_plain_http_network():
    assert production_settings(SECURE_COOKIES="false") == {
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
    }


def test_the_https_settings_can_be_set_one_by_one():
    settings = production_settings(
        SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto",
        SECURE_HSTS_SECONDS="3600",
        SECURE_HSTS_PRELOAD="false",
        SECURE_SSL_REDIRECT="false",
    )
    assert settings["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert settings["SECURE_HSTS_SECONDS"] == 3600
    assert settings["SECURE_HSTS_PRELOAD"] is False
    assert settings["SECURE_SSL_REDIRECT"] is False
    as_django_spells_it = production_settings(SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO")
    assert as_django_spells_it["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]


REQUEST_HOME = """
from django.test import Client
response = Client().get("/", HTTP_HOST="10.20.0.5", **{extra})
print(response.status_code, response.get("Location"), response.get("Strict-Transport-Security"))
"""


def request_home(extra: dict | None = None, **env: str) -> str:
    env = PRODUCTION | {"ALLOWED_HOSTS": "10.20.0.5"} | env
    result = run_django(REQUEST_HOME.format(extra=extra or {}), **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def test_plain_http_is_sent_to_https_by_default():
    assert request_home() == "301 https://10.20.0.5/ None"


def test_plain_http_is_served_with_secure_cookies_false():
    assert request_home(SECURE_COOKIES="false") == "302 /accounts/login/?next=/ None"


def test_behind_an_https_proxy_the_forwarded_scheme_counts():
    forwarded = {"HTTP_X_FORWARDED_PROTO": "https"}
    assert request_home(forwarded, SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto") == (
        "302 /accounts/login/?next=/ max-age=31536000; includeSubDomains; preload"
    )


# Content-Security-Policy

TEMPLATES = ROOT / "templates"
COMMENTS = re.compile(r"{#.*?#}|{%\s*comment\s*%}.*?{%\s*endcomment\s*%}", re.DOTALL)
INLINE = {
    "inline <script>": re.compile(r"<script\b(?![^>]*\bsrc=)[^>]*>", re.IGNORECASE),
    "<style> element": re.compile(r"<style\b", re.IGNORECASE),
    "style attribute": re.compile(r"\sstyle\s*=", re.IGNORECASE),
    "event handler attribute": re.compile(r"\son[a-z]+\s*=", re.IGNORECASE),
    "hx-on attribute (needs eval)": re.compile(r"\shx-on[:-]", re.IGNORECASE),
    "javascript: URL": re.compile(r"javascript:", re.IGNORECASE),
}


def test_no_template_has_inline_script_or_style():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        text = COMMENTS.sub("", path.read_text())
        for what, pattern in INLINE.items():
            for match in pattern.finditer(text):
                line = text.count("\n", 0, match.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}")
    assert found == []


@pytest.mark.django_db
def test_pages_carry_a_content_security_policy_without_unsafe_inline(planner_client):
    policy = planner_client.get(reverse("runs:list")).headers["Content-Security-Policy"]
    directives = dict(directive.split(" ", 1) for directive in policy.split("; "))
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert "unsafe" not in policy


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/accounts/login/", "/runs/", "/api/v1/runs", "/no-such-page/"])
def test_every_response_carries_a_permissions_policy(planner_client, url):
    policy = planner_client.get(url).headers["Permissions-Policy"]
    features = dict(item.split("=", 1) for item in policy.split(", "))
    for feature in ["camera", "microphone", "geolocation", "payment", "usb", "browsing-topics"]:
        assert features[feature] == "()", feature
    # Retired, and warned about by browsers.
    assert "interest-cohort" not in features


def test_htmx_is_told_not_to_insert_its_indicator_styles(client):
    page = client.get(reverse("accounts:login")).content.decode()
    config = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", page)[1]
    assert json.loads(config)["includeIndicatorStyles"] is False


# Error pages, with DEBUG off as in production (pytest-django turns it off).


@pytest.mark.django_db
def test_a_missing_run_shows_the_404_page_with_the_nav_and_a_way_home(planner_client):
    response = planner_client.get(reverse("runs:detail", args=[999999]))
    assert response.status_code == 404
    page = response.content.decode()
    assert "Page not found" in page
    assert 'aria-label="Main"' in page
    assert f'href="{reverse("home")}"' in page
    assert "Back to the start page" in page


@pytest.mark.django_db
def test_a_forbidden_page_shows_the_403_page(client, org):
    client.force_login(factories.UserFactory(organisation=org))  # in no group: may not view runs
    response = client.get(reverse("runs:list"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "You can’t do that here" in page
    assert 'aria-label="Main"' in page
    assert "Back to the start page" in page


@pytest.mark.django_db
def test_a_csrf_failure_explains_itself(planner):
    client = Client(enforce_csrf_checks=True)
    client.force_login(planner)
    response = client.post(reverse("accounts:logout"))
    assert response.status_code == 403
    page = response.content.decode()
    assert "This form could not be checked" in page
    assert "Nothing was saved" in page
    assert "SECURE_COOKIES=false" in page
    assert "Back to the start page" in page
    assert 'aria-label="Main"' in page


def test_the_500_page_needs_no_request_context():
    response = server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    page = response.content.decode()
    assert "Something went wrong on our side" in page
    assert 'href="/"' in page
    assert "/static/css/ion-runs.css" in page


# Scripts. Each runs on a copy in a temporary folder: setup-python removes the .venv beside it.


def copy_script(tmp_path: Path, name: str) -> Path:
    (tmp_path / "scripts").mkdir(exist_ok=True)
    script = tmp_path / "scripts" / name
    script.write_text((ROOT / "scripts" / name).read_text())
    return script


def executable(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)


def test_setup_python_stops_when_no_python_is_new_enough(tmp_path):
    script = copy_script(tmp_path, "setup-python")
    bin_dir = tmp_path / "bin"
    # Debian 12's python3, and nothing newer anywhere on PATH or under HOME.
    executable(bin_dir / "python3", '#!/bin/sh\n[ "$1" = --version ] && echo "Python 3.11.2"; exit 1\n')
    for tool in ("dirname", "rm"):
        (bin_dir / tool).symlink_to(subprocess.check_output(["which", tool], text=True).strip())
    (tmp_path / "home").mkdir()
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "kept").touch()

    result = subprocess.run(
        ["/bin/bash", script],
        env={"PATH": str(bin_dir), "HOME": str(tmp_path / "home")},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "ion-runs needs Python 3.12 or newer" in result.stderr
    assert "Python 3.11.2" in result.stderr
    assert "README.md" in result.stderr
    assert (tmp_path / ".venv" / "kept").exists()  # nothing removed before giving up


def test_demo_ignores_production_settings_left_in_the_shell(tmp_path):
    script = copy_script(tmp_path, "demo")
    executable(tmp_path / "scripts" / "setup-python", "#!/bin/sh\nexit 0\n")
    # A stand-in for the venv's python: it records the environment manage.py would see.
    executable(tmp_path / ".venv" / "bin" / "python", f'#!/bin/sh\nenv > "{tmp_path}/env-$1-$2"\n')

    result = subprocess.run(
        ["/bin/bash", script],
        env={"PATH": os.environ["PATH"], **PRODUCTION, "SECURE_SSL_REDIRECT": "true", "PORT": "8123"},
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 0, result.stderr
    for command in ("migrate", "seed_demo", "runserver"):
        recorded = (tmp_path / f"env-manage.py-{command}").read_text()
        seen = dict(line.split("=", 1) for line in recorded.splitlines())
        assert seen["DEBUG"] == "true"
        assert "DATABASE_URL" not in seen and "SECRET_KEY" not in seen and "SECURE_SSL_REDIRECT" not in seen
    assert "http://127.0.0.1:8123/" in result.stdout


def test_behind_pgbouncer_in_transaction_mode_no_cursor_or_prepared_statement_outlives_a_transaction():
    code = (
        "from django.conf import settings; import json; d = settings.DATABASES['default']; "
        "print(json.dumps([d.get('DISABLE_SERVER_SIDE_CURSORS', False),"
        " d['OPTIONS'].get('prepare_threshold', 5)]))"
    )
    url = {"DATABASE_URL": "postgres://ion@pgbouncer.internal:6432/ion_runs"}
    direct = run_django(code, **PRODUCTION | url)
    pooled = run_django(code, **PRODUCTION | url | {"DATABASE_POOLER": "transaction"})
    assert json.loads(direct.stdout) == [False, 5], direct.stderr
    assert json.loads(pooled.stdout) == [True, None], pooled.stderr
    refused = run_django(code, **PRODUCTION | url | {"DATABASE_POOLER": "session"})
    assert "DATABASE_POOLER must be empty or 'transaction'" in refused.stderr
