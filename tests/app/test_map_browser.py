"""The map in a real Chromium: land and the client's sites are on the screen (pixels of a
screenshot, not the DOM), nothing is fetched from outside the app, hovering and clicking work."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

from .conftest import PASSWORDS, copy_db
from .live import CHROMIUM, TIMEOUT_MS, ServerDidNotStart, chromium, settle, streamlit_server

pytestmark = pytest.mark.browser

if not CHROMIUM.exists():
    pytest.skip(
        "browser tests need Debian's chromium at /usr/bin/chromium (apt-get install -y chromium)",
        allow_module_level=True,
    )

from PIL import Image  # noqa: E402
from playwright.sync_api import Browser, Page  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

LAND = (233, 230, 221)
SEA = (226, 236, 243)
BAND_D = (239, 108, 0)  # Meridian's Basra terminals and routes: risk 40-60%


@pytest.fixture(scope="module")
def server(demo_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    db = copy_db(demo_template, tmp_path_factory.mktemp("map") / "db")
    try:
        with streamlit_server(db, db.parent / "server.log") as url:
            yield url
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as b:
        yield b


def open_as(browser: Browser, url: str, user: str, path: str) -> tuple[Page, list[str]]:
    page = browser.new_context(viewport={"width": 1400, "height": 1500}).new_page()
    page.set_default_timeout(TIMEOUT_MS)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(url + path)
    page.get_by_role("textbox", name="Username").fill(user)
    page.get_by_role("textbox", name="Password").fill(PASSWORDS[user])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_test_id("stSidebarNav").wait_for()
    settle(page)
    return page, requests


def near(pixel: tuple[int, ...], colour: tuple[int, int, int], tol: int = 12) -> bool:
    return all(abs(int(p) - c) <= tol for p, c in zip(pixel[:3], colour, strict=True))


def map_pixels(page: Page) -> Image.Image:
    chart = page.get_by_test_id("stDeckGlJsonChart").first
    chart.scroll_into_view_if_needed()
    chart.locator("canvas").first.wait_for()
    page.wait_for_timeout(2500)  # deck.gl draws on the next animation frames
    return Image.open(io.BytesIO(chart.screenshot())).convert("RGB")


def share(img: Image.Image, colour: tuple[int, int, int], tol: int = 12) -> float:
    small = img.resize((img.width // 2, img.height // 2), Image.Resampling.NEAREST)
    data = list(small.getdata())
    return sum(near(p, colour, tol) for p in data) / len(data)


def test_client_map_shows_land_sea_and_sites_and_fetches_nothing(
    browser: Browser, server: str
) -> None:
    page, requests = open_as(browser, server, "meridian", "/client")
    img = map_pixels(page)
    land, sea, sites = share(img, LAND, 6), share(img, SEA, 6), share(img, BAND_D, 25)
    assert land > 0.15, f"land covers {land:.1%} of the map"
    assert sea > 0.10, f"sea covers {sea:.1%} of the map"
    assert sites > 0.0005, f"band-D sites and routes cover {sites:.2%} of the map"
    outside = [u for u in requests if not u.startswith((server, "data:", "blob:"))]
    assert outside == [], outside
    # the legend reaches the top of the range (items reach 69%)
    legend = page.get_by_test_id("stMain").inner_text()
    assert "E critical: risk 60% or more" in legend
    assert "A resilient: risk under 10%" in legend
    page.context.close()


def test_portfolio_map_hover_names_the_item_in_words(browser: Browser, server: str) -> None:
    page, requests = open_as(browser, server, "am", "/portfolio")
    img = map_pixels(page)
    assert share(img, LAND, 6) > 0.15
    chart = page.get_by_test_id("stDeckGlJsonChart").first
    box = chart.bounding_box()
    assert box is not None
    # find a site marker by colour and hover over it
    small = img.resize((img.width // 2, img.height // 2), Image.Resampling.NEAREST)
    spot = next(
        (
            (x * 2, y * 2)
            for y in range(small.height)
            for x in range(small.width)
            if near(small.getpixel((x, y)), BAND_D, 10)  # type: ignore[arg-type]
        ),
        None,
    )
    assert spot is not None
    page.mouse.move(box["x"] + spot[0] + 1, box["y"] + spot[1] + 1)
    page.wait_for_timeout(800)
    tip = page.locator(".deck-tooltip").first
    text = tip.inner_text() if tip.count() else ""
    assert "risk of disruption" in text, text
    assert "sea." not in text and "hotspot." not in text
    outside = [u for u in requests if not u.startswith((server, "data:", "blob:"))]
    assert outside == [], outside
    page.context.close()


def solid_spot(img: Image.Image, colour: tuple[int, int, int], tol: int = 12) -> tuple[int, int]:
    """The middle of the largest solid patch of ``colour`` (a site's circle, not a route's
    thin line): the pixel whose square of that colour around it is widest."""
    small = img.resize((img.width // 2, img.height // 2), Image.Resampling.NEAREST)
    w, h = small.size
    px = small.load()
    assert px is not None
    mask = [[near(px[x, y], colour, tol) for x in range(w)] for y in range(h)]  # type: ignore[arg-type]
    # the side of the largest all-colour square ending at each pixel (dynamic programming)
    side = [[0] * w for _ in range(h)]
    best, where = 0, (0, 0)
    for y in range(h):
        for x in range(w):
            if not mask[y][x]:
                continue
            s = (
                1
                if x == 0 or y == 0
                else 1 + min(side[y - 1][x], side[y][x - 1], side[y - 1][x - 1])
            )
            side[y][x] = s
            if s > best:
                best, where = s, (x - s // 2, y - s // 2)
    assert best >= 3, f"no site of that colour on the map (largest patch {best} px)"
    return where[0] * 2, where[1] * 2


DETAILS = re.compile(r"Risk of disruption \d+% \(band [A-E]\) · value ")


def click_site(page: Page, spot: tuple[int, int], tries: int = 5) -> None:
    """Click the map at ``spot`` until the page shows the clicked item's details.

    deck.gl counts a press as a click only when the button comes up within 250 ms, and it first
    picks what lies under the pointer by drawing the pickable layers again and reading the pixel
    back (which waits for the frame being drawn). With software WebGL on a busy machine that can
    take longer (measured on two cores: 80-200 ms at a load average of 13, 270-850 ms at 20),
    and the click is lost, as a person's would be, who would click again: so does this, after
    waiting long enough to be sure the last click did not register (a second click on a
    selected site would clear the selection)."""
    chart = page.get_by_test_id("stDeckGlJsonChart").first
    box = chart.bounding_box()
    assert box is not None
    x, y = box["x"] + spot[0], box["y"] + spot[1]
    for _ in range(tries):
        page.mouse.move(x, y)
        page.wait_for_timeout(2000)  # the hover's pick and highlight are drawn first
        page.mouse.click(x, y)
        settle(page)
        try:
            page.get_by_text(DETAILS).first.wait_for(timeout=20_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"{tries} clicks on the site at {spot} never showed its details")


def test_clicking_a_site_on_the_client_map_shows_the_item_and_its_drivers(
    browser: Browser, server: str
) -> None:
    page, _ = open_as(browser, server, "meridian", "/client")
    img = map_pixels(page)
    click_site(page, solid_spot(img, BAND_D, 10))
    text = page.get_by_test_id("stMain").inner_text()
    # the item, its risk with its band and its range, and the threat that drives it, in words
    assert " · site" in text, text
    assert "(band D)" in text and "top threat:" in text
    assert "from the likelihood ranges · criticality" in text
    assert "of this client's expected disruption; bears hardest on" in text
    assert "sea." not in text and "hotspot." not in text
    page.context.close()


def test_clicking_a_site_on_the_portfolio_map_opens_the_clients_page(
    browser: Browser, server: str
) -> None:
    page, _ = open_as(browser, server, "am", "/portfolio")
    img = map_pixels(page)
    click_site(page, solid_spot(img, BAND_D, 10))
    panel = page.get_by_test_id("stMain").inner_text()
    line = next(x for x in panel.splitlines() if x.endswith((" · site", " · route")))
    client = line.split(" · ")[1]  # "<item> · <client> · site"
    page.get_by_role("button", name="Open this client's page").click()
    settle(page)
    page.get_by_role("heading", level=1, name=client).wait_for()
    assert "client=" in page.url
    assert page.get_by_text("What drives the rating").count() == 1
    page.context.close()
