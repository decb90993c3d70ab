"""The Spack panel in a real headless Chromium driving a real JupyterLab.

One Lab (with the freshly built extension) and one browser page for the module; the demo mirror
is served over HTTP by a local StaticServer. The tests run in order, as a user would: look at
the host, search, install with the plan confirmed, watch progress reach done, find the package
under Installed, uninstall it; then a tampered tarball, whose failure must show its reason.

Screenshots go to ``$UI_SCREENSHOT_DIR`` (default: a pytest temp dir); the README's images in
``docs/images/`` are taken from there.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from jupyter_spackcache.demo.broken import blob_path, tamper_tarball
from tests.support.servers import StaticServer
from tests.support.ui_helpers import (
    TIMEOUT_MS,
    LabServer,
    demo_mirror_over_http,
    isolated_env,
    lab_in_browser,
    remove_tree,
    skip_reason,
)

if TYPE_CHECKING:
    from playwright.sync_api import Locator, Page

_SKIP = skip_reason()
pytestmark = pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")

PANEL = "#jupyter-spackcache-panel"


class Env:
    """Everything the tests share: the Lab, the mirror server and its directory, the page."""

    def __init__(
        self, lab: LabServer, server: StaticServer, mirror: Path, page: Page, shots: Path
    ) -> None:
        self.lab, self.server, self.mirror, self.page, self.shots = lab, server, mirror, page, shots

    def shot(self, name: str, selector: str = PANEL) -> None:
        """The panel (or another element, e.g. a dialog) as ``<shots>/<name>.png``."""
        self.page.locator(selector).first.screenshot(path=str(self.shots / f"{name}.png"))

    def panel(self) -> Locator:
        return self.page.locator(PANEL)


# pytest-jupyter's autouse fixtures are active in every module once any module loads the
# plugin. Here JupyterLab runs as a subprocess, and these two would close (or run) the thread's
# event loop after each test: the loop Playwright's sync API is still running on.
@pytest.fixture(autouse=True)
def jp_asyncio_loop() -> Iterator[None]:
    yield None


@pytest.fixture(autouse=True)
def jp_server_cleanup() -> Iterator[None]:
    yield None


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Env]:
    root = Path(tempfile.mkdtemp(prefix="ui", dir="/tmp"))  # short: GnuPG socket paths
    shots = Path(os.environ.get("UI_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    env = isolated_env(root)
    server, mirror = demo_mirror_over_http(root, env)
    try:
        with lab_in_browser(root, env, height=900) as (lab, page):
            yield Env(lab, server, mirror, page, shots)
    finally:
        server.stop()
        remove_tree(root)


def open_panel(page: Page) -> None:
    tab = page.locator('li[data-id="jupyter-spackcache-panel"]')
    if not page.locator(PANEL).is_visible():
        tab.click()
    page.wait_for_selector(PANEL, state="visible")
    box = page.locator(PANEL).bounding_box()
    if box is not None and box["width"] < 400:  # widen the sidebar for readable screenshots
        handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
        h = handle.bounding_box()
        if h is not None:
            page.mouse.move(h["x"] + h["width"] / 2, h["y"] + 200)
            page.mouse.down()
            page.mouse.move(h["x"] + 160, h["y"] + 200, steps=5)
            page.mouse.up()


def search(ui: Env, query: str) -> Locator:
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("")
    box.press_sequentially(query, delay=20)  # as a user types: the model debounces
    name = query.split("@")[0].strip()
    result = ui.panel().locator(f'.jp-SpackPanel-result[data-package="{name}"]')
    result.wait_for()
    return result


def plan_and_confirm(ui: Env, name: str) -> Locator:
    """Open ``name`` from the results, press Install, check the plan, confirm."""
    result = search(ui, name)
    result.locator(".jp-SpackPanel-resultHead").click()
    result.locator(".jp-SpackPanel-facts").wait_for()
    result.locator(".jp-SpackPanel-install").click()
    plan = ui.panel().locator(".jp-SpackPanel-plan")
    plan.locator('.jp-SpackPanel-planGroup[data-action="download"]').wait_for()
    return plan


def run_palette_command(page: Page, label: str) -> None:
    page.keyboard.press("Control+Shift+C")
    box = page.locator(".lm-CommandPalette-input")
    box.fill(label)
    page.locator(".lm-CommandPalette-item.lm-mod-active").filter(has_text=label).wait_for()
    box.press("Enter")


def test_panel_opens_from_the_palette_and_shows_host_and_mirror(ui: Env) -> None:
    run_palette_command(ui.page, "Spack: Open Panel")
    open_panel(ui.page)
    host = ui.lab.api("GET", "host").json()
    target = ui.panel().locator(".jp-SpackPanel-target")
    target.wait_for()
    assert target.inner_text().startswith(host["target"])
    assert host["compatible_targets"][0] in target.inner_text()
    root = ui.panel().locator(".jp-SpackPanel-root")
    assert host["install_root"]["path"] in root.inner_text()
    assert re.search(r"\(\d+(\.\d)? [KMGT]?B free\)", root.inner_text())
    chip = ui.panel().locator('.jp-SpackPanel-mirrorChips .jp-SpackPanel-badge:text("demo")')
    chip.wait_for()
    # the chip appears with the mirror list and takes its state when the keys are known
    ui.panel().locator(
        '.jp-SpackPanel-mirrorChips .jp-SpackPanel-badge[data-state="trusted"]:text("demo")'
    ).wait_for(timeout=10_000)
    ui.shot("host")


def test_settings_are_in_the_registry(ui: Env) -> None:
    r = httpx.get(
        f"{ui.lab.url}/lab/api/settings/jupyter-spackcache:plugin",
        headers={"Authorization": f"token {ui.lab.token}"},
        timeout=10,
    )
    assert r.status_code == 200
    schema = r.json()["schema"]
    assert schema["title"] == "Spack"
    assert schema["properties"]["searchDebounce"]["default"] == 300


def test_bad_query_shows_the_parser_message(ui: Env) -> None:
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("demo-tool@@")
    error = ui.panel().locator(".jp-SpackPanel-search .jp-SpackPanel-error")
    error.wait_for()
    assert "expected a version after '@'" in error.inner_text()


def test_install_with_plan_then_progress_then_installed(ui: Env) -> None:
    # slow the tarballs down a little so the bars are seen moving, not only at 100%
    for name in ("libdemo-base", "libdemo-mid", "demo-tool"):
        rel = blob_path(ui.mirror, name).relative_to(ui.mirror).as_posix()
        ui.server.fault(rel, delay=1.0)
    try:
        plan = plan_and_confirm(ui, "demo-tool")
        downloads = plan.locator('.jp-SpackPanel-planGroup[data-action="download"] li')
        names = " ".join(downloads.all_inner_texts())
        for name in ("demo-tool@1.0.0", "libdemo-mid@2.0.1", "libdemo-base@1.2.0"):
            assert name in names
        system = plan.locator('.jp-SpackPanel-planGroup[data-action="external"]')
        assert "glibc" in system.inner_text()
        assert "KB" in plan.locator(".jp-SpackPanel-planTotal").inner_text()
        checks = plan.locator(".jp-SpackPanel-checks li")
        assert checks.count() >= 1
        assert all(c.get_attribute("data-ok") == "true" for c in checks.all())
        ui.shot("plan")

        plan.locator(".jp-SpackPanel-toggle input").check()  # register a kernel too
        plan.locator(".jp-SpackPanel-confirm").click()
        progress = ui.panel().locator(".jp-SpackPanel-progress")
        progress.wait_for()
        running = ui.panel().locator('.jp-SpackPanel-progress[data-state="running"]')
        running.wait_for()
        moving = ':not([data-stage="queued"]):not([data-stage="external"])'
        running.locator(f".jp-SpackPanel-node{moving}").first.wait_for()
        ui.shot("progress")
    finally:
        ui.server.clear_faults()
    done = ui.panel().locator('.jp-SpackPanel-progress[data-state="done"]')
    done.wait_for()
    for name in ("demo-tool", "libdemo-mid", "libdemo-base"):
        node = done.locator(f'.jp-SpackPanel-node[data-package="{name}"]')
        assert node.get_attribute("data-stage") == "done"
    overall = done.locator('.jp-SpackPanel-bar[aria-label="Overall progress"]')
    assert overall.get_attribute("aria-valuenow") == "100"
    assert "kernel 'spack-demo-tool-1.0.0-" in done.locator(".jp-SpackPanel-note").inner_text()
    # the new kernel shows in the launcher without a page reload
    card = ui.page.locator(".jp-LauncherCard").filter(has_text="demo-tool 1.0.0")
    card.first.wait_for()

    row = ui.panel().locator('.jp-SpackPanel-installedList li[data-package="demo-tool"]')
    row.wait_for()
    folded = row.locator(".jp-SpackPanel-folded summary")
    assert folded.inner_text() == "2 dependencies"
    ui.shot("installed")


def test_progress_reattaches_after_reload(ui: Env) -> None:
    """A running install survives a page reload: the panel finds the task again."""
    rel = blob_path(ui.mirror, "demo-scripts").relative_to(ui.mirror).as_posix()
    ui.server.fault(rel, delay=6.0)
    try:
        task = ui.lab.api("POST", "installs", json={"specs": ["demo-scripts"]}).json()
        ui.page.reload()
        ui.page.wait_for_selector(".jp-LabShell")
        # the splash goes when the layout is restored: clicking the panel's tab before that
        # raced the restorer, which then closed the panel it had reopened (seen in CI)
        ui.page.wait_for_selector("#jupyterlab-splash", state="detached")
        open_panel(ui.page)
        progress = ui.panel().locator(f'.jp-SpackPanel-progress[data-task="{task["id"]}"]')
        progress.wait_for()
        # the last search came back too
        box = ui.panel().locator(".jp-SpackPanel-searchInput input")
        assert box.input_value() == "demo-tool"
        ui.panel().locator('.jp-SpackPanel-result[data-package="demo-tool"]').wait_for()
        # cancel works from the re-attached view, and rolls back
        progress.locator(".jp-SpackPanel-cancel").click()
        ui.panel().locator('.jp-SpackPanel-progress[data-state="cancelled"]').wait_for()
    finally:
        ui.server.clear_faults()
    installed = {r["name"] for r in ui.lab.api("GET", "installed").json()}
    assert "demo-scripts" not in installed
    ui.panel().locator(".jp-SpackPanel-close").click()


def installed_row(ui: Env, name: str) -> Locator:
    return ui.panel().locator(f'.jp-SpackPanel-installedList li[data-package="{name}"]')


def click_uninstall(ui: Env, name: str) -> Locator:
    """Press Uninstall on ``name``'s row; returns the confirmation dialog."""
    row = installed_row(ui, name)
    row.locator(".jp-SpackPanel-installedRow .jp-SpackPanel-uninstall").first.click()
    dialog = ui.page.locator(".jp-Dialog")
    dialog.wait_for()
    return dialog


def test_uninstall_follows_the_dependents_rule_and_gc(ui: Env) -> None:
    # libdemo-base becomes explicit too (installing an installed package marks it requested)
    task = ui.lab.api("POST", "installs", json={"specs": ["libdemo-base"]}).json()
    for _ in range(100):
        if ui.lab.api("GET", f"tasks/{task['id']}").json()["state"] == "done":
            break
        ui.page.wait_for_timeout(100)
    ui.panel().locator(".jp-SpackPanel-header .jp-ToolbarButtonComponent").click()
    installed_row(ui, "libdemo-base").wait_for()

    # still needed by others: the dialog names them before anything is removed
    dialog = click_uninstall(ui, "libdemo-base")
    text = dialog.inner_text()
    hashes = {r["name"]: r["hash"][:7] for r in ui.lab.api("GET", "installed").json()}
    needed = f"demo-tool@1.0.0/{hashes['demo-tool']}, libdemo-mid@2.0.1/{hashes['libdemo-mid']}"
    assert f"is still needed by {needed}" in text
    assert "Uninstall all" in text
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
    assert len(ui.lab.api("GET", "installed").json()) == 3

    dialog = click_uninstall(ui, "demo-tool")
    assert "Uninstall demo-tool" in dialog.inner_text()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    installed_row(ui, "demo-tool").wait_for(state="detached")
    # libdemo-mid is left over, needed by nothing requested: gc removes it
    orphans = ui.panel().locator(".jp-SpackPanel-orphans")
    assert "libdemo-mid" in orphans.inner_text()
    ui.panel().locator(".jp-SpackPanel-gc").click()
    ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
    orphans.wait_for(state="detached")

    click_uninstall(ui, "libdemo-base").locator(".jp-Dialog-button.jp-mod-accept").click()
    empty = ui.panel().locator(".jp-SpackPanel-installed .jp-SpackPanel-muted")
    empty.filter(has_text="Nothing installed yet.").wait_for()
    assert ui.lab.api("GET", "installed").json() == []


def test_mirrors_policy_and_key_review(ui: Env) -> None:
    section = ui.panel().locator('details[data-section="mirrors"]')
    section.locator("summary").click()
    form = section.locator(".jp-SpackPanel-addMirror")
    # the site forbids unsigned mirrors: the panel does not offer them, and says why
    assert form.locator(".jp-SpackPanel-toggle input").count() == 0
    assert "signed mirrors only" in form.inner_text()
    # a refusal is shown under the form, where the user is looking, and focused
    form.locator('input[aria-label="Mirror name"]').fill("demo")
    form.locator('input[aria-label="Mirror URL"]').fill(ui.server.url)
    form.locator('button[type="submit"]').click()
    notice = form.locator(".jp-SpackPanel-formError")
    notice.wait_for()
    ui.page.wait_for_function(
        "() => document.activeElement?.classList.contains('jp-SpackPanel-formError')"
    )
    assert "a mirror named 'demo' already exists" in notice.inner_text()
    hint = notice.locator(".jp-SpackPanel-hint")
    assert "pick another name" in hint.inner_text()
    # and the guide's section is one click away
    assert hint.locator(".jp-SpackPanel-helpLink").get_attribute("data-code") == "config"
    assert [m["name"] for m in ui.lab.api("GET", "mirrors").json()] == ["demo"]

    # a signed mirror is added, and its keys are shown (fingerprint, user ID) for review
    with StaticServer(ui.mirror) as copy:
        form.locator('input[aria-label="Mirror name"]').fill("copy")
        form.locator('input[aria-label="Mirror URL"]').fill(copy.url)
        form.locator('button[type="submit"]').click()
        section.locator('.jp-SpackPanel-mirrorList li[data-mirror="copy"]').wait_for()
        preview = section.locator(".jp-SpackPanel-keyPreview")
        preview.locator(".jp-SpackPanel-fingerprint").wait_for()
        fingerprint = ui.lab.api("GET", "keys").json()[0]["fingerprint"]
        shown = preview.locator(".jp-SpackPanel-fingerprint").inner_text()
        assert shown.replace(" ", "") == fingerprint
        assert "demo key" in preview.inner_text() and "already trusted" in preview.inner_text()
        ui.shot("mirrors")
        preview.locator("button", has_text="Close").click()
        # removing asks first, then the mirror is gone
        section.locator('li[data-mirror="copy"] button', has_text="Remove").click()
        ui.page.locator(".jp-Dialog .jp-Dialog-button.jp-mod-accept").click()
        section.locator('li[data-mirror="copy"]').wait_for(state="detached")
    section.locator("summary").click()


def test_tampered_tarball_shows_the_reason(ui: Env) -> None:
    tamper_tarball(ui.mirror, "libdemo-base")
    plan_and_confirm(ui, "libdemo-base")
    ui.panel().locator(".jp-SpackPanel-plan .jp-SpackPanel-confirm").click()
    failed = ui.panel().locator('.jp-SpackPanel-progress[data-state="failed"]')
    failed.wait_for()
    error = failed.locator(".jp-SpackPanel-error").first
    message = error.locator(".jp-SpackPanel-errorMessage").inner_text()
    assert re.search(r"sha256 .*signed checksum", message), message
    hint = error.locator(".jp-SpackPanel-hint")
    assert hint.count() == 1 and hint.inner_text().strip()
    node = failed.locator('.jp-SpackPanel-node[data-package="libdemo-base"]')
    assert node.get_attribute("data-stage") == "failed"
    ui.shot("failure")
    assert ui.lab.api("GET", "installed").json() == []


def test_dark_theme_uses_the_theme_colours(ui: Env) -> None:
    panel = ui.panel()
    light = panel.evaluate("e => getComputedStyle(e).backgroundColor")
    run_palette_command(ui.page, "Use Theme: JupyterLab Dark")
    ui.page.wait_for_function(
        "() => document.body.dataset.jpThemeLight === 'false'", timeout=TIMEOUT_MS
    )
    ui.page.wait_for_timeout(300)  # theme CSS swap
    dark = panel.evaluate("e => getComputedStyle(e).backgroundColor")
    expected = panel.evaluate(
        "e => getComputedStyle(document.body).getPropertyValue('--jp-layout-color1').trim()"
    )
    assert light != dark
    assert dark.replace(" ", "") == rgb(expected)
    ui.shot("dark")


def rgb(css_colour: str) -> str:
    """``#111111`` (or ``rgb(...)``) as ``rgb(r,g,b)``, the form getComputedStyle returns."""
    if css_colour.startswith("#") and len(css_colour) == 7:
        r, g, b = (int(css_colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r},{g},{b})"
    return css_colour.replace(" ", "")
