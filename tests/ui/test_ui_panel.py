"""Issue 14 in a real JupyterLab and headless Chromium: the panel tells the truth and stays in
sync. Trust badges per mirror from the server, the resolver's build pre-selected, why a search
found nothing (with the next step as a button), changes made from a terminal shown without
reloading, JupyterLab's accept buttons with a reason when disabled, and no overflowing text at
sidebar widths of 250, 300 and 600 px.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.support.ui_helpers import (
    demo_mirror_over_http,
    isolated_env,
    lab_in_browser,
    remove_tree,
    skip_reason,
    spackcache,
)
from tests.ui.test_ui_browser import (
    PANEL,
    Env,
    jp_asyncio_loop,  # noqa: F401 (autouse override)
    jp_server_cleanup,  # noqa: F401 (autouse override)
    open_panel,
    run_palette_command,
    search,
)

if TYPE_CHECKING:
    from playwright.sync_api import Page

try:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout
except ImportError:  # skipped below without playwright
    PlaywrightTimeout = TimeoutError  # type: ignore[misc,assignment]

_SKIP = skip_reason()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")]


class PanelEnv(Env):
    env: dict[str, str]


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PanelEnv]:
    root = Path(tempfile.mkdtemp(prefix="ui", dir="/tmp"))  # short: GnuPG socket paths
    shots = Path(os.environ.get("UI_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    env = isolated_env(root)
    server, mirror = demo_mirror_over_http(root, env)
    try:
        with lab_in_browser(root, env) as (lab, page):
            # the launcher is restored last and takes the focus: let it, before testing focus
            page.locator(".jp-LauncherCard").first.wait_for()
            page.wait_for_timeout(1000)
            open_panel(page)
            out = PanelEnv(lab, server, mirror, page, shots)
            out.env = env
            yield out
    finally:
        server.stop()
        remove_tree(root)


def chip_state(ui: PanelEnv, mirror: str) -> str | None:
    chip = ui.panel().locator(f'.jp-SpackPanel-mirrorChips li[data-mirror="{mirror}"] span')
    return chip.get_attribute("data-state")


def test_best_build_is_preselected_and_install_is_an_accept_button(ui: PanelEnv) -> None:
    result = search(ui, "demo-tool")
    result.locator(".jp-SpackPanel-resultHead").click()
    best = result.locator('.jp-SpackPanel-best[data-best="true"]')
    best.wait_for()
    assert "best for this CPU" in best.inner_text()
    group = ui.lab.api("GET", "specs", params={"q": "demo-tool"}).json()["items"][0]
    select = result.locator(".jp-SpackPanel-buildSelect select")
    assert select.input_value() == group["best"]
    assert "best for this CPU" in select.locator("option:checked").inner_text()
    install = result.locator("button.jp-SpackPanel-install")
    assert "jp-mod-accept" in (install.get_attribute("class") or "")
    colour = install.evaluate("e => getComputedStyle(e).backgroundColor")
    brand = install.evaluate(
        "e => getComputedStyle(document.body).getPropertyValue('--jp-brand-color1').trim()"
    )
    assert colour.replace(" ", "") == rgb(brand)
    # the plan appears next to the view and takes the focus
    install.click()
    plan = ui.panel().locator(".jp-SpackPanel-plan")
    plan.locator('.jp-SpackPanel-planGroup[data-action="download"]').wait_for()
    ui.page.wait_for_function(
        "() => document.activeElement && document.activeElement.closest('.jp-SpackPanel-plan')"
    )
    box = plan.bounding_box()
    assert box is not None and box["y"] < 720 and box["y"] + 20 > 0
    # each package says what it is built for and where it comes from; the size in human units
    downloads = plan.locator('.jp-SpackPanel-planGroup[data-action="download"]')
    where = downloads.locator(".jp-SpackPanel-nodeWhere")
    assert " · demo" in where.first.inner_text()
    # and whether it will be verified: the demo mirror's key is trusted here
    demo = next(m for m in ui.lab.api("GET", "mirrors").json() if m["name"] == "demo")
    signature = downloads.locator(".jp-SpackPanel-nodeSignature").first
    assert signature.get_attribute("data-state") == demo["trust"]["state"] == "trusted"
    assert signature.inner_text() == "signed"
    assert "0.0 MB" not in plan.inner_text()
    ui.panel().locator(".jp-SpackPanel-dismiss").click()


def test_search_results_put_applications_apart_from_libraries(ui: PanelEnv) -> None:
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("demo")
    box.press("Enter")
    roles = {
        g["name"]: g["role"]
        for g in ui.lab.api("GET", "specs", params={"q": "demo"}).json()["items"]
    }
    assert set(roles.values()) == {"application", "library"}  # the demo has both kinds

    def listed(group: str) -> list[str]:
        items = ui.panel().locator(
            f'.jp-SpackPanel-resultGroup[data-group="{group}"] .jp-SpackPanel-result'
        )
        return [li.get_attribute("data-package") or "" for li in items.all()]

    ui.panel().locator('.jp-SpackPanel-resultGroup[data-group="libraries"]').wait_for()
    assert listed("applications") == sorted(n for n, r in roles.items() if r == "application")
    assert listed("libraries") == sorted(n for n, r in roles.items() if r == "library")
    assert "libdemo-base" in listed("libraries") and "demo-tool" in listed("applications")
    titles = ui.panel().locator(".jp-SpackPanel-resultGroup .jp-SpackPanel-groupTitle")
    assert [t.inner_text().split()[0].lower() for t in titles.all()] == [
        "applications",
        "libraries",
    ]
    ui.shot("search-groups")
    # one kind only: one plain list, no heading
    box.fill("libdemo")
    box.press("Enter")
    ui.panel().locator('.jp-SpackPanel-result[data-package="libdemo-mid"]').wait_for()
    ui.panel().locator('.jp-SpackPanel-result[data-package="demo-tool"]').wait_for(state="detached")
    assert ui.panel().locator(".jp-SpackPanel-resultGroup").count() == 0


def test_no_result_says_why_with_a_next_step(ui: PanelEnv) -> None:
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("dmeo")
    why = ui.panel().locator('.jp-SpackPanel-noMatch[data-kind="no-package"]')
    why.wait_for()
    assert "no package named 'dmeo'" in why.inner_text()
    why.locator(".jp-SpackPanel-chip").first.click()
    ui.panel().locator(".jp-SpackPanel-result").first.wait_for()
    assert box.input_value().startswith("demo")

    box.fill("demo-tool@9")
    versions = ui.panel().locator('.jp-SpackPanel-noMatch[data-kind="other-versions"]')
    versions.wait_for()
    versions.locator(".jp-SpackPanel-chip", has_text="1.0.0").click()
    ui.panel().locator('.jp-SpackPanel-result[data-package="demo-tool"]').wait_for()
    assert box.input_value() == "demo-tool@1.0.0"
    ui.shot("no-result")


def test_terminal_changes_show_without_reload(ui: PanelEnv) -> None:
    fingerprint = ui.lab.api("GET", "keys").json()[0]["fingerprint"]
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'trusted'"
    )
    # untrusted from a terminal: the badge turns to the warning state by itself
    spackcache(ui.env, "keys", "untrust", fingerprint)
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'untrusted'",
        timeout=15_000,
    )
    section = ui.panel().locator('details[data-section="mirrors"]')
    section.locator("summary").click()
    row = section.locator('.jp-SpackPanel-mirrorList li[data-mirror="demo"]')
    assert "signed, key not trusted" in row.locator(".jp-SpackPanel-badge").inner_text()
    review = row.locator("button.jp-SpackPanel-reviewKeys")
    assert "jp-mod-warn" in (review.get_attribute("class") or "")
    ui.shot("mirror-untrusted")
    # the action trusts it again, and the badge follows
    review.click()
    preview = section.locator(".jp-SpackPanel-keyPreview")
    preview.locator('input[type="checkbox"]').first.check()
    preview.locator("button.jp-SpackPanel-trust").click()
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'trusted'"
    )
    section.locator("summary").click()

    # installed from a terminal (as `%spack install` does): listed without pressing reload
    spackcache(ui.env, "install", "libdemo-base")
    row = ui.panel().locator('.jp-SpackPanel-installedList li[data-package="libdemo-base"]')
    row.wait_for(timeout=15_000)

    # a kernel made from a terminal (as `%spack kernel` does): its button says so by itself
    kernel = row.locator(".jp-SpackPanel-installedRow .jp-SpackPanel-kernel").first
    assert "jp-mod-registered" not in (kernel.get_attribute("class") or "")
    spackcache(ui.env, "kernel", "add", "libdemo-base")
    row.locator(".jp-SpackPanel-kernel.jp-mod-registered").wait_for(timeout=15_000)
    name = kernel.get_attribute("data-kernel") or ""
    assert name.startswith("spack-libdemo-base-")
    spackcache(ui.env, "kernel", "remove", name)
    row.locator(".jp-SpackPanel-kernel.jp-mod-registered").wait_for(
        state="detached", timeout=15_000
    )


def set_sidebar_width(page: Page, width: int) -> None:
    panel = page.locator(PANEL).bounding_box()
    handle = page.locator("#jp-main-split-panel > .lm-SplitPanel-handle").first
    h = handle.bounding_box()
    assert panel is not None and h is not None
    page.mouse.move(h["x"] + h["width"] / 2, h["y"] + 200)
    page.mouse.down()
    page.mouse.move(panel["x"] + width + h["width"] / 2, h["y"] + 200, steps=5)
    page.mouse.up()
    page.wait_for_timeout(200)


OVERFLOWING = """
panel => [...panel.querySelectorAll('*')].filter(e => {
  const style = getComputedStyle(e);
  if (style.display === 'none' || e.clientWidth === 0) return false;
  if (style.textOverflow === 'ellipsis') return false;  // cut on purpose, full value on hover
  if (e.tagName === 'SELECT' || e.tagName === 'OPTION') return false;
  return e.scrollWidth > e.clientWidth + 1;
}).map(e => `${e.tagName}.${e.className} ${e.scrollWidth}>${e.clientWidth}`)
"""


@pytest.mark.parametrize("width", [250, 300, 600])
def test_nothing_overflows_at_sidebar_width(ui: PanelEnv, width: int) -> None:
    result = search(ui, "demo-tool")
    if result.get_attribute("data-open") != "true":
        result.locator(".jp-SpackPanel-resultHead").click()
    result.locator(".jp-SpackPanel-facts").wait_for()
    # the plan's per-package lines (paths included) must fit too
    plan = ui.panel().locator(".jp-SpackPanel-plan")
    install = result.locator("button.jp-SpackPanel-install")
    if plan.count() == 0 and install.is_enabled():
        install.click()
        plan.locator(".jp-SpackPanel-nodePath").first.wait_for()
    ui.panel().locator('details[data-section="mirrors"]').evaluate("e => e.open = true")
    set_sidebar_width(ui.page, width)
    actual = ui.panel().bounding_box()
    assert actual is not None and abs(actual["width"] - width) < 30, actual
    over = ui.panel().evaluate(OVERFLOWING)
    assert over == [], "\n".join(over)
    # a path cut for width keeps its end, the package's own directory, in view
    for path in plan.locator(".jp-SpackPanel-pathText").all():
        assert path.evaluate(CUT_AT_START), path.inner_text()
    ui.shot(f"width-{width}")
    if plan.count():
        ui.panel().locator(".jp-SpackPanel-dismiss").click()
        plan.wait_for(state="detached")


#: a path element whose text is cut shows its end: the last character's box is inside it
CUT_AT_START = """
e => {
  if (e.scrollWidth <= e.clientWidth + 1) return true;
  const range = document.createRange();
  const last = [...e.childNodes].reverse().find(n => n.textContent.trim().length > 1);
  range.setStart(last, last.textContent.length - 2);
  range.setEnd(last, last.textContent.length - 1);
  const box = range.getBoundingClientRect(), own = e.getBoundingClientRect();
  return box.right <= own.right + 1 && box.left >= own.left - 1;
}
"""


def rgb(css_colour: str) -> str:
    if css_colour.startswith("#") and len(css_colour) == 7:
        r, g, b = (int(css_colour[i : i + 2], 16) for i in (1, 3, 5))
        return f"rgb({r},{g},{b})"
    return css_colour.replace(" ", "")


def terminal_output(ui: PanelEnv, name: str) -> str:
    """What terminal ``name`` has printed so far: terminado replays it to a new client."""
    import asyncio
    import json
    import threading

    from tornado.httpclient import HTTPRequest
    from tornado.websocket import websocket_connect

    out: list[str] = []

    async def read() -> None:
        ws_url = ui.lab.url.replace("http://", "ws://") + f"/terminals/websocket/{name}"
        request = HTTPRequest(ws_url, headers={"Authorization": f"token {ui.lab.token}"})
        conn = await websocket_connect(request)
        try:
            while True:
                try:
                    msg = await asyncio.wait_for(conn.read_message(), 2)
                except TimeoutError:
                    return
                if msg is None:
                    return
                kind, *rest = json.loads(msg)
                if kind == "stdout":
                    out.append(str(rest[0]))
        finally:
            conn.close()

    thread = threading.Thread(target=lambda: asyncio.run(read()))
    thread.start()
    thread.join(30)
    return "".join(out)


def wait_task(ui: PanelEnv, task_id: str) -> None:
    for _ in range(300):
        if ui.lab.api("GET", f"tasks/{task_id}").json()["state"] not in {"queued", "running"}:
            return
        ui.page.wait_for_timeout(100)
    raise AssertionError(f"task {task_id} did not finish")


def sessions(ui: PanelEnv) -> list[dict[str, str]]:
    """Jupyter's own ``/api/sessions`` (the notebooks running a kernel now)."""
    reply = httpx.get(
        f"{ui.lab.url}/api/sessions", headers={"Authorization": f"token {ui.lab.token}"}
    )
    reply.raise_for_status()
    return list(reply.json())


def open_notebook_with_kernel(ui: PanelEnv, package: str) -> str:
    """Open a new notebook on ``package``'s kernel from its Kernel button; the notebook's path."""
    row = ui.panel().locator(
        f'.jp-SpackPanel-installedList li[data-package="{package}"] > .jp-SpackPanel-installedRow'
    )
    row.locator(".jp-SpackPanel-kernel.jp-mod-registered").wait_for(timeout=30_000)
    before = {s["path"] for s in sessions(ui)}
    row.locator(".jp-SpackPanel-kernel").click()
    ui.page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Cell").first.wait_for()
    for _ in range(100):
        # JupyterLab starts the session under a temporary id, then names it after the file
        new = {s["path"] for s in sessions(ui)} - before
        named = [p for p in new if p.endswith(".ipynb")]
        if named:
            return named[0]
        ui.page.wait_for_timeout(100)
    raise AssertionError("no notebook session was started")


def close_notebooks(ui: PanelEnv) -> None:
    """Shut every kernel down from JupyterLab (so it knows at once) and close the tabs."""
    dialog = ui.page.locator(".jp-Dialog")
    run_palette_command(ui.page, "Shut Down All Kernels")
    dialog.wait_for()
    dialog.locator(".jp-Dialog-button.jp-mod-warn").click()
    dialog.wait_for(state="detached")
    for _ in range(100):
        if not sessions(ui):
            break
        ui.page.wait_for_timeout(100)
    assert sessions(ui) == []
    run_palette_command(ui.page, "Close All Tabs")
    while True:  # "save your work?" for each new notebook: no
        try:
            dialog.wait_for(timeout=2000)
        except PlaywrightTimeout:
            break
        dialog.locator(".jp-Dialog-button", has_text="Discard").click()
        dialog.wait_for(state="detached")


def test_uninstall_and_gc_name_what_goes_first(ui: PanelEnv) -> None:
    # libdemo-base requested on its own, then demo-tool (which needs it) with a kernel
    for specs, kernel in ((["libdemo-base"], False), (["demo-tool"], True)):
        task = ui.lab.api("POST", "installs", json={"specs": specs, "kernel": kernel}).json()
        wait_task(ui, task["id"])
    tool = ui.panel().locator('.jp-SpackPanel-installedList li[data-package="demo-tool"]')
    tool.wait_for(timeout=15_000)  # pushed, no reload
    # a notebook runs demo-tool's kernel: the dialog must say so
    notebook = open_notebook_with_kernel(ui, "demo-tool")

    base = ui.panel().locator('.jp-SpackPanel-installedList li[data-package="libdemo-base"]')
    base.locator(".jp-SpackPanel-installedRow .jp-SpackPanel-uninstall").first.click()
    dialog = ui.page.locator(".jp-Dialog")
    dialog.wait_for()
    listed = dialog.locator(".jp-SpackPanel-removalList li")
    names = {li.get_attribute("data-package") for li in listed.all()}
    assert names == {"libdemo-base", "libdemo-mid", "demo-tool"}
    assert "spack-demo-tool-1.0.0-" in dialog.locator(".jp-SpackPanel-removalKernels").inner_text()
    assert notebook in dialog.locator(".jp-SpackPanel-removalBusy").inner_text()
    # the safe button has the focus: Enter removes nothing
    focused = ui.page.evaluate("() => document.activeElement?.className ?? ''")
    assert "jp-mod-reject" in focused, focused
    ui.shot("uninstall-dialog", ".jp-Dialog-content")
    ui.page.keyboard.press("Enter")
    dialog.wait_for(state="detached")
    installed = {r["name"] for r in ui.lab.api("GET", "installed").json()}
    assert {"libdemo-base", "libdemo-mid", "demo-tool"} <= installed
    # no notebook runs it any more: the dialog has no such line
    close_notebooks(ui)
    base.locator(".jp-SpackPanel-installedRow .jp-SpackPanel-uninstall").first.click()
    dialog.wait_for()
    assert dialog.locator(".jp-SpackPanel-removalBusy").count() == 0
    dialog.locator(".jp-Dialog-button.jp-mod-reject").click()
    dialog.wait_for(state="detached")

    # without demo-tool, libdemo-mid is unneeded: gc lists it before removing anything
    tool_hash = next(
        r["hash"] for r in ui.lab.api("GET", "installed").json() if r["name"] == "demo-tool"
    )
    ui.lab.api("DELETE", f"installed/{tool_hash}")
    gc = ui.panel().locator(".jp-SpackPanel-gc")
    ui.page.wait_for_function(
        f"() => !document.querySelector('{PANEL} .jp-SpackPanel-gc')?.disabled", timeout=15_000
    )
    gc.click()
    dialog.wait_for()
    listed = dialog.locator(".jp-SpackPanel-removalList li")
    assert [li.get_attribute("data-package") for li in listed.all()] == ["libdemo-mid"]
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    ui.panel().locator(".jp-SpackPanel-orphans").wait_for(state="detached")
    assert "libdemo-mid" not in {r["name"] for r in ui.lab.api("GET", "installed").json()}


def test_hints_are_buttons_and_link_the_guide(ui: PanelEnv) -> None:
    fingerprint = ui.lab.api("GET", "keys").json()[0]["fingerprint"]
    spackcache(ui.env, "keys", "untrust", fingerprint)
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'untrusted'",
        timeout=15_000,
    )
    result = search(ui, "demo-scripts")
    if result.get_attribute("data-open") != "true":
        result.locator(".jp-SpackPanel-resultHead").click()
    result.locator("button.jp-SpackPanel-install").click()
    plan = ui.panel().locator(".jp-SpackPanel-plan")
    action = plan.locator("button.jp-SpackPanel-hintAction", has_text="Review keys")
    action.wait_for()
    assert "spackcache keys trust" not in plan.inner_text()  # no terminal command
    ui.shot("hint-actions")
    # the guide opens in a Lab tab at the error's section
    link = plan.locator(".jp-SpackPanel-helpLink").first
    code = link.get_attribute("data-code")
    link.click()
    guide = ui.page.locator("#jupyter-spackcache-troubleshooting")
    guide.wait_for()
    guide.locator(f'h2[data-jupyter-id="{code}"]').wait_for()
    assert guide.locator(".jp-SpackPanel-help").get_attribute("data-section") == code
    tab = ui.page.locator('.lm-TabBar-tab:has-text("Spack troubleshooting")')
    tab.locator(".lm-TabBar-tabCloseIcon").click()
    # the button does what the command did: review the mirror's keys, then trust them
    action.click()
    preview = ui.panel().locator(".jp-SpackPanel-keyPreview")
    preview.locator('input[type="checkbox"]').first.check()
    preview.locator("button.jp-SpackPanel-trust").click()
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'trusted'"
    )
    ui.panel().locator('details[data-section="mirrors"] summary').click()
    ui.panel().locator(".jp-SpackPanel-dismiss").click()


def test_keyboard_paths(ui: PanelEnv) -> None:
    # the palette's "Spack: Install…" puts the cursor in the search box
    run_palette_command(ui.page, "Spack: Install…")
    ui.page.wait_for_function(
        "() => document.activeElement?.closest('.jp-SpackPanel-searchInput') !== null"
    )
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("")
    # half-typed: no red error while typing on, only after a pause
    box.press_sequentially("demo-tool@", delay=20)
    error = ui.panel().locator(".jp-SpackPanel-search .jp-SpackPanel-error")
    ui.page.wait_for_timeout(700)  # past the debounce: the server has answered
    assert error.count() == 0
    error.wait_for(timeout=5_000)
    box.press_sequentially("1")
    error.wait_for(state="detached")

    result = search(ui, "demo-tool")
    if result.get_attribute("data-open") != "true":
        result.locator(".jp-SpackPanel-resultHead").click()
    install = result.locator("button.jp-SpackPanel-install")
    install.focus()
    ui.page.keyboard.press("Enter")
    plan = ui.panel().locator(".jp-SpackPanel-plan")
    plan.locator(".jp-SpackPanel-planTotal").wait_for()
    ui.page.wait_for_function(
        "() => document.activeElement?.closest('.jp-SpackPanel-plan') !== null"
    )
    ui.page.keyboard.press("Escape")
    plan.wait_for(state="detached")
    assert ui.page.evaluate(
        "() => document.activeElement?.classList.contains('jp-SpackPanel-install')"
    )


def test_progress_wording_and_notifications(ui: PanelEnv) -> None:
    from jupyter_spackcache.demo.broken import blob_path

    ui.page.evaluate("""() => {
        window.__states = [];
        new MutationObserver(() => {
            const s = document.querySelector('.jp-SpackPanel-taskState');
            if (s && window.__states.at(-1) !== s.textContent) window.__states.push(s.textContent);
        }).observe(document.body, {subtree: true, childList: true, characterData: true});
    }""")
    rel = blob_path(ui.mirror, "demo-scripts").relative_to(ui.mirror).as_posix()
    ui.server.fault(rel, delay=6.0)
    try:
        result = search(ui, "demo-scripts")
        if result.get_attribute("data-open") != "true":
            result.locator(".jp-SpackPanel-resultHead").click()
        result.locator("button.jp-SpackPanel-install").click()
        ui.panel().locator(".jp-SpackPanel-plan .jp-SpackPanel-planTotal").wait_for()
        ui.panel().locator(".jp-SpackPanel-plan .jp-SpackPanel-confirm").click()
        running = ui.panel().locator('.jp-SpackPanel-progress[data-state="running"]')
        running.wait_for()
        running.locator(".jp-SpackPanel-cancel").click()
        cancelled = ui.panel().locator('.jp-SpackPanel-progress[data-state="cancelled"]')
        cancelled.wait_for()
    finally:
        ui.server.clear_faults()
    states: list[str] = ui.page.evaluate("() => window.__states")
    # nothing else was running: no "waiting for another install", and the user's own
    # cancel is no red error
    assert not any("Waiting for another install" in s for s in states), states
    assert cancelled.locator(".jp-SpackPanel-error").count() == 0
    assert "Cancelled" in cancelled.locator(".jp-SpackPanel-taskState").inner_text()
    toast = ui.page.locator(".Toastify__toast").filter(has_text="cancelled")
    toast.first.wait_for()
    cancelled.locator(".jp-SpackPanel-close").click()


def test_installed_builds_are_badged(ui: PanelEnv) -> None:
    task = ui.lab.api("POST", "installs", json={"specs": ["demo-tool"]}).json()
    wait_task(ui, task["id"])
    done = ui.lab.api("GET", f"tasks/{task['id']}").json()
    assert done["state"] == "done", done
    result = search(ui, "demo-tool")
    badge = result.locator('.jp-SpackPanel-installedBadge[data-state="installed"]')
    badge.wait_for(timeout=15_000)  # the install was pushed to the panel
    if result.get_attribute("data-open") != "true":
        result.locator(".jp-SpackPanel-resultHead").click()
    result.locator('[data-installed="true"]').wait_for()
    install = result.locator("button.jp-SpackPanel-install")
    assert install.is_disabled()
    assert "already installed" in (install.get_attribute("data-why") or "")
    ui.shot("installed-badge")


def test_dark_theme_keeps_the_badges_and_actions_readable(ui: PanelEnv) -> None:
    run_palette_command(ui.page, "Use Theme: JupyterLab Dark")
    ui.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    ui.page.wait_for_timeout(300)  # theme CSS swap
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("dmeo")
    why = ui.panel().locator('.jp-SpackPanel-noMatch[data-kind="no-package"]')
    why.wait_for()
    # the warning bar and the chips take the theme's colours, not fixed light ones
    background = why.evaluate("e => getComputedStyle(e).backgroundColor")
    expected = why.evaluate(
        "e => getComputedStyle(document.body).getPropertyValue('--jp-layout-color2').trim()"
    )
    assert background.replace(" ", "") == rgb(expected)
    ui.shot("no-result-dark")
    run_palette_command(ui.page, "Use Theme: JupyterLab Light")
    ui.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")


def test_the_search_box_stays_in_view_when_the_panel_scrolls(ui: PanelEnv) -> None:
    result = search(ui, "demo-tool")
    if result.get_attribute("data-open") != "true":
        result.locator(".jp-SpackPanel-resultHead").click()
    ui.panel().locator('details[data-section="mirrors"]').evaluate("e => e.open = true")
    panel = ui.panel()
    assert panel.evaluate("e => e.scrollHeight > e.clientHeight")  # long enough to scroll
    panel.evaluate("e => { e.scrollTop = e.scrollHeight; }")
    ui.page.wait_for_timeout(100)
    box = panel.locator(".jp-SpackPanel-searchInput").bounding_box()
    top = panel.bounding_box()
    assert box is not None and top is not None
    assert top["y"] - 1 <= box["y"] <= top["y"] + 40, (box, top)
    panel.evaluate("e => { e.scrollTop = 0; }")


def test_untrust_from_the_panel(ui: PanelEnv) -> None:
    fingerprint = ui.lab.api("GET", "keys").json()[0]["fingerprint"]
    section = ui.panel().locator('details[data-section="mirrors"]')
    section.evaluate("e => e.open = true")
    key = section.locator(f'.jp-SpackPanel-keys li[data-fingerprint="{fingerprint}"]')
    key.locator("button.jp-SpackPanel-untrust").click()
    dialog = ui.page.locator(".jp-Dialog")
    dialog.wait_for()
    assert "no longer verify" in dialog.inner_text()
    dialog.locator(".jp-Dialog-button.jp-mod-accept").click()
    key.wait_for(state="detached")
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'untrusted'"
    )
    assert ui.lab.api("GET", "keys").json() == []
    # and back, with the mirror's Review keys
    section.locator('li[data-mirror="demo"] button.jp-SpackPanel-reviewKeys').click()
    preview = section.locator(".jp-SpackPanel-keyPreview")
    preview.locator('input[type="checkbox"]').first.check()
    preview.locator("button.jp-SpackPanel-trust").click()
    section.locator(f'.jp-SpackPanel-keys li[data-fingerprint="{fingerprint}"]').wait_for()


def test_installed_build_shows_its_kernel_and_goes_into_a_notebook_or_terminal(
    ui: PanelEnv,
) -> None:
    task = ui.lab.api("POST", "installs", json={"specs": ["demo-tool"]}).json()
    wait_task(ui, task["id"])
    record = next(r for r in ui.lab.api("GET", "installed").json() if r["name"] == "demo-tool")
    row = ui.panel().locator(
        '.jp-SpackPanel-installedList li[data-package="demo-tool"] > .jp-SpackPanel-installedRow'
    )
    kernel = row.locator(".jp-SpackPanel-kernel")
    kernel.wait_for(timeout=15_000)
    if "jp-mod-registered" not in (kernel.get_attribute("class") or ""):
        kernel.click()  # make one from the panel: the button then says it exists
    row.locator(".jp-SpackPanel-kernel.jp-mod-registered").wait_for(timeout=30_000)
    assert (kernel.get_attribute("data-kernel") or "").startswith("spack-demo-tool-1.0.0-")
    # a build without a kernel keeps the plain button
    base = ui.panel().locator(
        '.jp-SpackPanel-installedList li[data-package="libdemo-base"] .jp-SpackPanel-kernel'
    )
    if base.count():
        assert "jp-mod-registered" not in (base.first.get_attribute("class") or "")

    # "Use in this notebook" puts the exact build's %spack load line into the active notebook
    run_palette_command(ui.page, "New Notebook")
    ui.page.locator(".jp-NotebookPanel .jp-Cell").first.wait_for()
    # JupyterLab asks which kernel (several exist now): take its default
    chooser = ui.page.locator(".jp-Dialog")
    try:
        chooser.wait_for(timeout=5000)
        chooser.locator(".jp-Dialog-button.jp-mod-accept").click()
        chooser.wait_for(state="detached")
    except PlaywrightTimeout:
        pass
    row.locator(".jp-SpackPanel-useNotebook").click()
    line = f"%spack load demo-tool@{record['version']}/{record['hash']}"
    ui.page.wait_for_function(
        "line => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-Cell .cm-content')].some(e => e.textContent === line)",
        arg=line,
    )
    # a non-empty active cell is kept: the line goes into a new cell below it
    row.locator(".jp-SpackPanel-useNotebook").click()
    ui.page.wait_for_function(
        "line => [...document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) "
        ".jp-Cell .cm-content')].filter(e => e.textContent === line).length === 2",
        arg=line,
    )

    # "Open a terminal with it loaded" opens a terminal session and types the eval line
    row.locator(".jp-SpackPanel-useTerminal").click()
    ui.page.locator(".jp-Terminal").first.wait_for()
    # xterm draws on a canvas: read what the shell echoed from the terminal server instead
    names = [
        t["name"]
        for t in httpx.get(
            f"{ui.lab.url}/api/terminals", headers={"Authorization": f"token {ui.lab.token}"}
        ).json()
    ]
    assert names
    wanted = f'eval "$(spackcache load --sh demo-tool@{record["version"]}/{record["hash"]})"'
    echoed = ""
    for _ in range(10):  # the shell echoes once it has started
        echoed = "".join(terminal_output(ui, name) for name in names)
        if wanted in echoed:
            break
    assert wanted in echoed, echoed[-2000:]
    ui.shot("installed-use")


def reset_store(ui: PanelEnv) -> None:
    """Nothing installed: every explicit package removed with what needs it, then gc."""
    for record in ui.lab.api("GET", "installed").json():
        if record["explicit"]:
            ui.lab.api("DELETE", f"installed/{record['hash']}", params={"dependents": "true"})
    ui.lab.api("POST", "gc")


def test_installed_groups_say_what_each_package_is_and_the_plan_where_it_goes(
    ui: PanelEnv,
) -> None:
    from jupyter_spackcache.demo.build import load_recipes

    described = {r.name: r.description for r in load_recipes()}
    reset_store(ui)
    task = ui.lab.api("POST", "installs", json={"specs": ["demo-tool"]}).json()
    wait_task(ui, task["id"])
    assert ui.lab.api("GET", f"tasks/{task['id']}").json()["state"] == "done"

    # applications apart from the libraries they pulled in, each saying what it is
    section = ui.panel().locator('details[data-section="installed"]')
    if section.count():
        section.evaluate("e => e.open = true")
    apps = ui.panel().locator('.jp-SpackPanel-installedGroup[data-group="applications"]')
    tool = apps.locator('li[data-package="demo-tool"]')
    tool.wait_for(timeout=15_000)  # pushed, no reload
    assert (apps.locator(".jp-SpackPanel-groupTitle").text_content() or "").startswith(
        "Applications"
    )
    # the removals before the install reach the panel by the same pushed events: wait for both
    ui.page.wait_for_function(
        """() => [...document.querySelectorAll(
            '.jp-SpackPanel-installedGroup[data-group="applications"] ul > li')]
            .map(li => li.dataset.package).join(',') === 'demo-tool'""",
        timeout=15_000,
    )
    description = tool.locator(":scope > .jp-SpackPanel-description")
    assert description.inner_text() == described["demo-tool"]
    libs = ui.panel().locator('.jp-SpackPanel-installedGroup[data-group="libraries"]')
    title = libs.locator(".jp-SpackPanel-groupTitle").text_content() or ""
    assert title.startswith("Libraries and dependencies")
    names = [li.get_attribute("data-package") for li in libs.locator("ul > li").all()]
    assert names == ["libdemo-base", "libdemo-mid"]
    for name in names:
        row = libs.locator(f'li[data-package="{name}"]')
        assert row.locator(".jp-SpackPanel-description").inner_text() == described[name]
        assert row.locator(".jp-SpackPanel-neededBy").inner_text() == "needed by demo-tool"
        assert row.locator(".jp-SpackPanel-uninstall").count() == 0  # demo-tool needs it
    assert ui.panel().locator(".jp-SpackPanel-gc").is_disabled()  # nothing unneeded
    libs.scroll_into_view_if_needed()
    ui.shot("installed-groups")

    # a search result says what an installed package is; one never installed says nothing
    result = search(ui, "demo-tool")
    head = result.locator(":scope > .jp-SpackPanel-description")
    head.wait_for()
    assert head.inner_text() == described["demo-tool"]
    scripts = search(ui, "demo-scripts")
    assert scripts.locator(".jp-SpackPanel-description").count() == 0

    # the plan says where each package goes, or already is
    if scripts.get_attribute("data-open") != "true":
        scripts.locator(".jp-SpackPanel-resultHead").click()
    scripts.locator("button.jp-SpackPanel-install").click()
    plan = ui.panel().locator(".jp-SpackPanel-plan")
    plan.locator(".jp-SpackPanel-nodePath").first.wait_for()
    wanted = ui.lab.api("POST", "plan", json={"specs": ["demo-scripts"]}).json()
    shown = 0
    for node in wanted["nodes"]:
        line = plan.locator(f'li[title^="{node["name"]}@"] .jp-SpackPanel-nodePath')
        if node["prefix"] is None:
            assert line.count() == 0
            continue
        shown += 1
        assert node["prefix"] in (line.get_attribute("title") or "")
        text = line.locator(".jp-SpackPanel-pathText").inner_text().strip("\u200e")
        assert node["prefix"].endswith(text)
        place = line.get_attribute("data-place")
        if node["action"] == "download":
            assert place == "new" and "installs to" in line.inner_text()
            assert node["prefix"] == f"{wanted['install_root']}/{text}"
        elif node["action"] == "reuse":
            assert place == "installed" and "already in" in line.inner_text()
        else:
            assert place == "system"
        copy = line.locator(".jp-SpackPanel-copyPath")
        assert copy.get_attribute("title") == f"Copy {node['prefix']}"
    assert shown >= 4  # demo-scripts and the three it reuses
    ui.shot("plan-paths")

    run_palette_command(ui.page, "Use Theme: JupyterLab Dark")
    ui.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
    ui.page.wait_for_timeout(300)  # theme CSS swap
    ui.shot("plan-paths-dark")
    libs.scroll_into_view_if_needed()
    ui.shot("installed-groups-dark")
    run_palette_command(ui.page, "Use Theme: JupyterLab Light")
    ui.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    ui.panel().locator(".jp-SpackPanel-dismiss").click()
