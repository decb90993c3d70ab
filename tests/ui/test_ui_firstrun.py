"""Issue 14 §12 in a real JupyterLab and headless Chromium: a user with no mirror at all.

The first-run card replaces the grey line: add the demo mirror (built by the server with gcc,
as a task), add a mirror the site suggests, or enter a URL. What the site file says is what
the card offers: its presets (by default Spack's public cache), none (``mirror_presets: []``),
or nothing at all when users may not add mirrors. The site file is rewritten between tests and
the panel reloaded with its own ↻ button, as an administrator's change would be picked up.

Spack's public cache cannot be reached offline, and adding a mirror reads it first, so the
preset that is clicked is a site preset pointing at the signed demo mirror over local HTTP
(the default preset's value is checked in tests/ops/test_presets.py).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from jupyter_spackcache.demo.build import DemoMirror
from tests.support.servers import StaticServer
from tests.support.ui_helpers import (
    SITE_CONFIG,
    isolated_env,
    lab_in_browser,
    remove_tree,
    skip_reason,
)
from tests.ui.test_ui_browser import (
    PANEL,
    Env,
    jp_asyncio_loop,  # noqa: F401 (autouse override)
    jp_server_cleanup,  # noqa: F401 (autouse override)
    open_panel,
    run_palette_command,
)
from tests.ui.test_ui_panel import OVERFLOWING, set_sidebar_width

if TYPE_CHECKING:
    from playwright.sync_api import Locator

_SKIP = skip_reason()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(_SKIP is not None, reason=_SKIP or "")]

CARD = ".jp-SpackPanel-host .jp-SpackPanel-firstRunCard"


class FirstRunEnv(Env):
    site: Path
    preset_url: str


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory, signed_demo: DemoMirror) -> Iterator[FirstRunEnv]:
    """A Lab whose user has no mirror; the site's preset mirror is served over HTTP."""
    root = Path(tempfile.mkdtemp(prefix="ui", dir="/tmp"))  # short: GnuPG socket paths
    shots = Path(os.environ.get("UI_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    env = isolated_env(root)
    server = StaticServer(signed_demo.path)
    try:
        with lab_in_browser(root, env) as (lab, page):
            page.locator(".jp-LauncherCard").first.wait_for()
            page.wait_for_timeout(1000)
            open_panel(page)
            out = FirstRunEnv(lab, server, signed_demo.path, page, shots)
            out.site = Path(env["SPACKCACHE_SITE_CONFIG"])
            out.preset_url = server.url
            yield out
    finally:
        server.stop()
        remove_tree(root)


def site(ui: FirstRunEnv, extra: str, base: str = SITE_CONFIG) -> Locator:
    """Rewrite the site file, reload the panel, and return the card once it shows."""
    ui.site.write_text(base + extra)
    # the card is drawn from GET /host: wait until the panel has read it again
    with ui.page.expect_response(lambda r: r.url.split("?")[0].endswith("/spackcache/api/host")):
        ui.panel().locator(".jp-SpackPanel-header button").first.click()  # ↻
    ui.page.wait_for_timeout(200)  # React draws the new state
    card = ui.panel().locator(CARD)
    card.wait_for()
    return card


TEAM = """mirror_presets:
  - name: team
    url: {url}
    title: Team cache
    description: Built nightly by the research software group.
"""


def test_a_new_user_sees_the_first_run_card(ui: FirstRunEnv) -> None:
    card = site(ui, "")
    assert "Start with a mirror" in card.inner_text()
    demo = card.locator("button.jp-SpackPanel-addDemo")
    assert demo.is_enabled() and "jp-mod-accept" in (demo.get_attribute("class") or "")
    # the default preset: Spack's public build cache, offered by its title and URL
    public = card.locator('li[data-offer="spack-public"]')
    assert "https://binaries.spack.io/develop" in public.inner_text()
    add = public.locator("button.jp-SpackPanel-addPreset")
    assert add.inner_text() == "Add Spack's public build cache"
    assert card.locator("button.jp-SpackPanel-enterUrl").is_visible()
    # no grey line any more, and the search area says why nothing is listed
    assert ui.panel().locator(".jp-SpackPanel-host .jp-SpackPanel-firstRun").count() == 0
    why = ui.panel().locator('.jp-SpackPanel-noMatch[data-kind="no-mirror"]')
    why.wait_for()
    assert "Nothing can be searched yet" in why.inner_text()
    # its button leads back to the card
    why.locator("button").click()
    ui.page.wait_for_function(
        "() => document.activeElement?.closest('.jp-SpackPanel-firstRunCard') != null"
    )
    ui.shot("first-run")


def test_the_site_can_hide_the_public_preset(ui: FirstRunEnv) -> None:
    card = site(ui, "mirror_presets: []\n")
    card.locator("button.jp-SpackPanel-addDemo").wait_for()
    assert card.locator("button.jp-SpackPanel-addPreset").count() == 0
    assert "binaries.spack.io" not in card.inner_text()
    card = site(ui, "mirror_presets: []\noffer_demo_mirror: false\n")
    card.locator("button.jp-SpackPanel-enterUrl").wait_for()
    assert card.locator("button.jp-SpackPanel-addDemo").count() == 0


def test_a_policy_refusal_is_one_line_and_no_button(ui: FirstRunEnv) -> None:
    card = site(ui, "policy:\n  allow_file_mirrors: false\n")
    card.locator('li[data-offer="spack-public"]').wait_for()
    assert card.locator("button.jp-SpackPanel-addDemo").count() == 0
    assert "The demo mirror is not available: this site does not allow file:// mirrors." in (
        card.inner_text()
    )


LOOSE = """mirror_presets:
  - name: loose
    url: {url}
    title: Loose cache
    unsigned: true
"""


def test_an_unsigned_preset_is_refused_or_confirmed_first(ui: FirstRunEnv) -> None:
    # the test site forbids unsigned mirrors: no button, one line saying why
    card = site(ui, LOOSE.format(url=ui.preset_url))
    card.locator("button.jp-SpackPanel-addDemo").wait_for()
    assert card.locator('li[data-offer="loose"]').count() == 0
    assert "Loose cache is not available: this site does not allow unsigned mirrors." in (
        card.inner_text()
    )
    # a site that allows them: the panel asks before adding, and Cancel adds nothing
    card = site(ui, LOOSE.format(url=ui.preset_url), base="")
    add = card.locator('li[data-offer="loose"] button.jp-SpackPanel-addPreset')
    assert "jp-mod-warn" in (add.get_attribute("class") or "")
    add.click()
    dialog = ui.page.locator(".jp-Dialog")
    dialog.wait_for()
    assert "Add Loose cache without signature checks?" in dialog.inner_text()
    dialog.locator("button", has_text="Cancel").click()
    dialog.wait_for(state="detached")
    assert ui.lab.api("GET", "mirrors").json() == []


def test_when_users_may_not_add_mirrors_the_card_says_so(ui: FirstRunEnv) -> None:
    card = site(ui, "policy:\n  allow_user_mirrors: false\n")
    note = card.locator(".jp-SpackPanel-firstRunForbidden")
    note.wait_for()
    assert note.inner_text() == ("Your site does not allow adding mirrors; ask your administrator.")
    assert card.locator("button").count() == 0
    # nor does the search area offer a button that leads nowhere
    why = ui.panel().locator('.jp-SpackPanel-noMatch[data-kind="no-mirror"]')
    why.wait_for()
    assert why.locator("button").count() == 0
    # and the Mirrors section has no add form either
    section = ui.panel().locator('details[data-section="mirrors"]')
    assert section.locator("form.jp-SpackPanel-addMirror").count() == 0


@pytest.mark.parametrize("width", [250, 300, 600])
def test_the_card_fits_the_sidebar(ui: FirstRunEnv, width: int) -> None:
    card = site(ui, TEAM.format(url=ui.preset_url))
    card.locator('li[data-offer="team"] button').wait_for()
    set_sidebar_width(ui.page, width)
    over = card.evaluate(OVERFLOWING)
    assert over == [], "\n".join(over)
    box, panel = card.bounding_box(), ui.panel().bounding_box()
    assert box is not None and panel is not None
    assert box["x"] + box["width"] <= panel["x"] + panel["width"] + 1
    if width == 300:
        run_palette_command(ui.page, "Use Theme: JupyterLab Dark")
        ui.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'false'")
        ui.page.wait_for_timeout(300)
        ui.shot("first-run-dark")
        run_palette_command(ui.page, "Use Theme: JupyterLab Light")
        ui.page.wait_for_function("() => document.body.dataset.jpThemeLight === 'true'")
    set_sidebar_width(ui.page, 420)


def test_enter_a_url_opens_the_add_form(ui: FirstRunEnv) -> None:
    card = site(ui, "")
    card.locator("button.jp-SpackPanel-enterUrl").click()
    section = ui.panel().locator('details[data-section="mirrors"]')
    assert section.evaluate("e => e.open") is True
    ui.page.wait_for_function(
        "() => document.activeElement?.getAttribute('aria-label') === 'Mirror name'"
    )
    section.locator("summary").click()  # closed again for the next tests


def test_a_site_preset_is_added_and_its_key_reviewed(ui: FirstRunEnv) -> None:
    card = site(ui, TEAM.format(url=ui.preset_url))
    card.locator('li[data-offer="team"] button.jp-SpackPanel-addPreset').click()
    # added as the site describes it; signed, so the key review opens
    preview = ui.panel().locator(".jp-SpackPanel-keyPreview")
    preview.locator('input[type="checkbox"]').first.wait_for()
    [mirror] = ui.lab.api("GET", "mirrors").json()
    assert (mirror["name"], mirror["url"], mirror["signed"]) == ("team", ui.preset_url, True)
    assert ui.panel().locator(CARD).count() == 0
    # the header says the key is not trusted yet, with the same Review keys action
    note = ui.panel().locator('.jp-SpackPanel-untrustedNote[data-mirror="team"]')
    note.wait_for()
    assert "jp-mod-warn" in (
        note.locator("button.jp-SpackPanel-hostReviewKeys").get_attribute("class") or ""
    )
    # in the Mirrors section, the suggestion now reads "added"
    suggested = ui.panel().locator('details[data-section="mirrors"] .jp-SpackPanel-suggested')
    toggle = suggested.locator("button.jp-SpackPanel-suggestedToggle")
    assert toggle.inner_text() == "▸ Suggested by your site (1 of 1 added)"
    toggle.click()
    offered = suggested.locator('li[data-offer="team"]')
    assert offered.locator(".jp-SpackPanel-badge").inner_text() == "added"
    ui.shot("first-run-review")
    ui.panel().locator(".jp-SpackPanel-keyPreview button", has_text="Close").click()
    preview.wait_for(state="detached")
    # the header's action brings the same review back
    note.locator("button.jp-SpackPanel-hostReviewKeys").click()
    preview.locator('input[type="checkbox"]').first.wait_for()
    assert "Keys published by team" in preview.inner_text()
    ui.panel().locator(".jp-SpackPanel-keyPreview button", has_text="Close").click()
    ui.lab.api("DELETE", "mirrors/team")
    ui.panel().locator(CARD).wait_for(timeout=15_000)  # the change event brings it back


def test_add_the_demo_mirror_then_find_demo_tool(ui: FirstRunEnv) -> None:
    card = site(ui, "")
    card.locator("button.jp-SpackPanel-addDemo").click()
    step = card.locator(".jp-SpackPanel-offerStep")
    step.wait_for()
    assert "Building the demo mirror" in step.inner_text()
    # built by the server with gcc, added and its key trusted: the card gives way to the chip
    ui.page.wait_for_function(
        f"() => document.querySelector('{PANEL} .jp-SpackPanel-mirrorChips "
        "li[data-mirror=\"demo\"] span')?.dataset.state === 'trusted'",
        timeout=120_000,
    )
    assert ui.panel().locator(CARD).count() == 0
    [task] = [t for t in ui.lab.api("GET", "tasks").json() if t["kind"] == "demo-mirror"]
    assert task["state"] == "done"
    box = ui.panel().locator(".jp-SpackPanel-searchInput input")
    box.fill("")
    box.press_sequentially("demo", delay=20)
    ui.panel().locator('.jp-SpackPanel-result[data-package="demo-tool"]').wait_for()
