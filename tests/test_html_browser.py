"""`deepgen report --format html` opened in a real headless browser (Chromium from the system packages; .ci/run
installs it). Skipped where none is installed."""

import json
import shutil
import subprocess

import pytest

from tests.test_report_cmd import _memorize_record

BROWSER = next((shutil.which(n) for n in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
                if shutil.which(n)), None)

# Run in the page only for this test (the page itself has no scripts): what the browser decoded and laid out.
PROBE = """<script>
window.addEventListener("load", () => { document.title = JSON.stringify({
  images: [...document.images].map(i => [i.complete, i.naturalWidth, i.naturalHeight]),
  cells: [...document.querySelectorAll("td")].map(td => td.textContent),
  verdicts: [...document.querySelectorAll("li")].map(li => li.textContent),
  width: document.querySelector("table").getBoundingClientRect().width,
}); });
</script>"""


@pytest.mark.browser
@pytest.mark.skipif(BROWSER is None, reason="no chromium, chromium-browser or google-chrome on PATH")
def test_html_report_renders_in_headless_chromium(cli, tmp_path):
    rec = _memorize_record(tmp_path / "a.json", (0.0, 1.0), (0.97, 0.12), basis="measured")
    page = cli("report", rec, "-f", "html").stdout
    probed = tmp_path / "page.html"
    probed.write_text(page.replace("</body>", PROBE + "</body>"))
    proc = subprocess.run([BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                           f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", probed.as_uri()],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    title = proc.stdout.split("<title>", 1)[1].split("</title>", 1)[0]
    seen = json.loads(title.replace("&quot;", '"').replace("&amp;", "&"))
    assert len(seen["images"]) == 1
    done, width, height = seen["images"][0]
    assert done and (width, height) == (1920, 540)  # memorize's plot: 16 x 4.5 inches at 120 dpi, decoded
    assert seen["cells"][:2] == ["mlp1x512", "0"] and "97.0%" in seen["cells"] and "12.0%" in seen["cells"]
    assert len(seen["verdicts"]) == 1 and "basis: measured" in seen["verdicts"][0]
    assert seen["width"] > 100
