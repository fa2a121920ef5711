"""The compare report as a person sees it: rendered by headless Chromium.

Checks, on a page 1,100 CSS pixels wide (the report's column): nothing is wider
than the page (no horizontal scrolling), every figure loads, no figure is shown
smaller than it was drawn (so its text keeps the size it was drawn at, at least
8 pt), and the bottom-line box is the first thing under the title. Skipped,
with the reason, where Chromium is not installed (Debian: ``apt-get install
chromium``).
"""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from popsim.model.build import scenario_from_dict
from popsim.workflows.compare import Entry, run_comparison

CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (Debian: apt-get install chromium)"
)

#: Appended to a copy of the page: writes what the browser measured into the DOM.
PROBE = """<script>
window.addEventListener('load', () => {
  const images = Array.from(document.images);
  const shrunk = images.filter(i => i.clientWidth < 0.98 * i.naturalWidth * (96 / 120));
  document.body.dataset.overflow = document.documentElement.scrollWidth > window.innerWidth;
  document.body.dataset.images = images.length;
  document.body.dataset.broken = images.filter(i => !i.complete || i.naturalWidth === 0).length;
  document.body.dataset.shrunk = shrunk.map(i => i.alt.slice(0, 30)).join('|');
  const first = document.querySelector('h1').nextElementSibling;
  document.body.dataset.first = first ? first.className : '';
});
</script>"""

FOUNDED = {
    "scenario": {"name": "Founded isolate", "generations": 8, "replicates": 30, "seed": 5,
                 "burn_in": 20, "assumptions": ["migration 0: no published rate"]},
    "demes": [
        {"name": "host", "size": 2000},
        {"name": "isolate", "label": "An isolate with a rather long label",
         "size": {"start": 10, "end": 400, "growth": "exponential"},
         "founded": {"generation": 0, "from": "host", "founders": 10}, "inbreeding": 0.02},
    ],
    "locus": {"pathogenic_mutation_rate": 1e-4, "selection": {"affected": 0.1},
              "founder_alleles": [{"name": "F1", "deme": "isolate", "generation": 0,
                                   "copies": 2}]},
    "observed": [
        {"statistic": "carrier_frequency", "deme": "isolate", "value": 0.05},
        {"name": "series", "deme": "isolate", "families": 5, "founder_homozygous": 5,
         "compound_heterozygous": 0, "other_homozygous": 0},
    ],
}
OUTBRED = {
    "scenario": {"name": "Outbred", "generations": 8, "replicates": 20, "seed": 9, "burn_in": 20},
    "demes": [{"name": "big", "size": 3000}],
    "locus": {"pathogenic_mutation_rate": 1e-4, "selection": {"affected": 0.1}},
}


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    """The report of a small comparison, measured and photographed by Chromium."""
    out = tmp_path_factory.mktemp("report")
    comparison = run_comparison([Entry("founded", scenario_from_dict(FOUNDED)),
                                 Entry("outbred", scenario_from_dict(OUTBRED))])
    comparison.write(out / "cmp")
    page = (out / "cmp" / "report.html").read_text(encoding="utf-8")
    probe = out / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    common = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
              "--window-size=1100,3000", "--virtual-time-budget=10000"]
    dom = subprocess.run([*common, "--dump-dom", probe.as_uri()], capture_output=True,
                         text=True, timeout=180, check=True).stdout
    shot = out / "report.png"
    subprocess.run([*common, f"--screenshot={shot}", probe.as_uri()], capture_output=True,
                   timeout=180, check=True)
    body = re.search(r"<body([^>]*)>", dom).group(1)
    measured = dict(re.findall(r'data-(\w+)="([^"]*)"', body))
    return measured, shot


def test_the_page_fits_its_width_and_every_figure_loads(rendered):
    measured, _ = rendered
    assert measured["overflow"] == "false"
    assert int(measured["images"]) == 3 and measured["broken"] == "0"


def test_no_figure_is_shown_smaller_than_drawn(rendered):
    """A figure drawn at 120 dpi shown at 96 CSS px per inch keeps its text size only
    if the page does not shrink it: the report's figures are at most two panels wide."""
    measured, _ = rendered
    assert measured["shrunk"] == ""


def test_the_bottom_line_comes_first_and_the_page_is_drawn(rendered):
    measured, shot = rendered
    assert measured["first"] == "bottom-line"
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
