"""The browser console (issue 25) in headless Chromium against a real `autovision serve` with a token.

    console_check.py BASE_URL TOKEN DATASET_ZIP IMAGE ARTIFACTS_DIR [README_SCREENSHOT]     # CONSOLE_CHECK_BUDGET=40s

Asks for the token and keeps it out of URLs and cookies; uploads the zip and checks the per-partition
counts against GET /v1/datasets/{id}; browses its images (thumbnails, paging) and labels its one unlabeled
image, which makes version 2 of the dataset, checked against the API; starts a short job and waits for its trials and its end; on the
evaluation page moves the score-threshold slider with the keyboard and checks precision, recall and F1
against report.json's test.confidence_metrics at that threshold; predicts IMAGE and checks the label
against POST /v1/models/{id}/predict; an unknown job shows the API's 404 detail. Every page: axe-core finds no serious or critical violation, and
at 390 px wide nothing overflows horizontally. With MULTI_LABEL_JOB set, that multi-label job's evaluation page shows the API's mean AP
and its slider the API's figures. Fails on any JavaScript error in the browser's log
(the network's expected 401 of the first load and 404s of the unknown job aside). Screenshots go to ARTIFACTS_DIR.
"""
import json
import os
import sys
import time
import urllib.request

from axe_selenium_python import Axe
from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

base, token, zip_path, image_path, artifacts = sys.argv[1:6]
budget = os.environ.get("CONSOLE_CHECK_BUDGET", "40s")
readme_shot = sys.argv[6] if len(sys.argv) > 6 else None
failures = []
log = []


def ok(message):
    print(f"ok {message}", file=sys.stderr, flush=True)


def check(condition, message):
    if condition:
        ok(message)
    else:
        print(f"FAILED {message}", file=sys.stderr, flush=True)
        failures.append(message)


def call(path, method="GET", body=None, content_type=None):
    headers = {"Authorization": f"Bearer {token}"}
    if content_type:
        headers["Content-Type"] = content_type
    request = urllib.request.Request(base + path, data=body, method=method, headers=headers)
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)


options = webdriver.ChromeOptions()
options.binary_location = "/usr/bin/chromium"
for argument in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--window-size=1000,900",
                 "--disable-extensions", "--no-first-run", "--disable-background-networking"]:
    options.add_argument(argument)
options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
wait = WebDriverWait(driver, 30)
axe = Axe(driver)


def find(selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def until(selector, timeout=30):
    return WebDriverWait(driver, timeout).until(lambda d: d.find_elements(By.CSS_SELECTOR, selector) and d.find_element(By.CSS_SELECTOR, selector))


def text(selector):
    """The text of the first element matching `selector` now, or None (read in the page: live pages re-render)."""
    return driver.execute_script("return document.querySelector(arguments[0])?.textContent ?? null", selector)


def count(selector):
    return driver.execute_script("return document.querySelectorAll(arguments[0]).length", selector)


def collect_log():
    log.extend(driver.get_log("browser"))


def audit(name):
    """axe, the 390 px overflow check and a screenshot of the page as it is now."""
    collect_log()
    axe.inject()
    results = axe.run()
    serious = [v for v in results["violations"] if v.get("impact") in ("serious", "critical")]
    check(not serious, f"{name}: no serious or critical axe violation"
          + ("" if not serious else ": " + "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in serious)))
    driver.save_screenshot(os.path.join(artifacts, f"{name}.png"))
    driver.set_window_size(390, 844)
    time.sleep(0.3)
    widths = driver.execute_script("return [document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    # On an overflow, name the elements that stick out, so the message says what to fix.
    wide = [] if widths[0] <= widths[1] else driver.execute_script(
        "return [...document.querySelectorAll('body *')].filter((e) => e.getBoundingClientRect().right > document.documentElement.clientWidth)"
        ".slice(0, 5).map((e) => `${e.tagName.toLowerCase()}${e.id ? '#' + e.id : ''}${e.className && e.className.baseVal === undefined ? '.' + e.className : ''}`"
        " + ` right ${Math.round(e.getBoundingClientRect().right)}`)")
    check(widths[0] <= widths[1], f"{name}: no horizontal overflow at 390 px (scroll width {widths[0]}, window {widths[1]})"
          + (f": {', '.join(wide)}" if wide else ""))
    driver.save_screenshot(os.path.join(artifacts, f"{name}-390.png"))
    driver.set_window_size(1000, 900)


try:
    started = time.time()
    # 1. The first load asks for the token (the API answered 401), then shows the lists without a click.
    driver.get(base + "/")
    until("#token")
    check("token" in find("#error").text.lower(), "the first load shows the 401 as a readable message and asks for the token")
    audit("token")
    find("#token").send_keys(token, Keys.ENTER)
    wait.until(lambda d: text("h1") == "Jobs and models")
    check(driver.execute_script("return sessionStorage.getItem('autovision-token')") == token, "the token is kept in the session")
    audit("home-empty")

    # 2. Upload the zip; the dataset page shows label counts per partition equal to the API's.
    find("header a[href='#/upload']").click()
    until("#upload-file").send_keys(os.path.abspath(zip_path))
    find("#upload-name").send_keys("fashion slice")
    find("#upload-form button").click()
    until("#partition-counts table", timeout=90)
    dataset_id = driver.current_url.split("#/datasets/")[1]
    dataset = call(f"/v1/datasets/{dataset_id}")
    check(dataset.get("name") == "fashion slice", f"the dataset's name is the one typed ({dataset.get('name')!r})")
    partitions = dataset["summary"]["partitions"]
    rows = driver.execute_script("""return [...document.querySelectorAll('#partition-counts tbody tr')].map(r =>
        [r.querySelector('th').textContent, ...[...r.querySelectorAll('td')].map(c => Number(c.textContent))])""")
    header = driver.execute_script("return [...document.querySelectorAll('#partition-counts thead th')].map(c => c.textContent)")
    shown = {p: {row[0]: row[1 + i] for row in rows if row[0] != "All labels"} for i, p in enumerate(header[1:-1])}
    check(shown == partitions, f"dataset {dataset_id}: the counts per label and partition equal the API's ({sum(map(len, partitions.values()))} cells)")
    audit("dataset")

    # 2b. The image browser: the one unlabeled image (the zip's first row has no label) as a thumbnail,
    # every image under "labelled and unlabeled"; label it, and the new version has it labelled.
    WebDriverWait(driver, 30).until(lambda d: driver.execute_script(
        "return [...document.querySelectorAll('#image-grid img')].some((i) => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0)"))
    check(count("#image-grid figure") == 1 and count("#image-grid input[type=checkbox]") == 1,
          "the image browser opens on the dataset's one unlabeled image, a thumbnail with a checkbox")
    Select(find("#filter-labeled")).select_by_value("")
    WebDriverWait(driver, 30).until(lambda d: f"of {dataset['images']}" in (text("#image-count") or ""))
    check(count("#image-grid figure") == 24, f"all {dataset['images']} images, 24 a page ({text('#image-count')!r})")
    find("#images-next").click()
    WebDriverWait(driver, 30).until(lambda d: (text("#image-count") or "").startswith("Images 25–48"))
    ok("the next page shows images 25-48")
    audit("dataset-images")
    Select(find("#filter-labeled")).select_by_value("false")
    WebDriverWait(driver, 30).until(lambda d: count("#image-grid input[type=checkbox]") == 1)
    new_label = dataset["labels"][0]
    find("#image-grid input[type=checkbox]").click()
    find("#new-label").send_keys(new_label)
    find("#label-selected").click()
    WebDriverWait(driver, 30).until(lambda d: dataset_id not in d.current_url)
    until("#partition-counts table", timeout=90)
    version_id = driver.current_url.split("#/datasets/")[1]
    version = call(f"/v1/datasets/{version_id}")
    labelled = lambda d: sum(sum(counts.values()) for counts in d["summary"]["partitions"].values())
    check(version.get("version") == 2 and version.get("parent_dataset_id") == dataset_id and version["summary"]["unlabeled"] == 0
          and labelled(version) == labelled(dataset) + 1 and "Version 2" in (text("#dataset-version") or ""),
          f"labelling made version 2 of {dataset_id}: {version_id}, with {labelled(version)} labelled images and none unlabeled")
    check(call(f"/v1/datasets/{dataset_id}")["summary"]["unlabeled"] == 1, "the first version is unchanged")
    dataset_id, dataset = version_id, version

    # 3. Train with a short custom budget; trials appear on the live job page, then the job succeeds.
    Select(find("#budget")).select_by_value("custom")
    find("#budget-custom").send_keys(budget)
    seed = find("#seed")
    seed.clear()
    seed.send_keys("1", Keys.ENTER)
    WebDriverWait(driver, 30).until(lambda d: text("#job-state"))
    job_id = driver.current_url.split("#/jobs/")[1]
    ok(f"job {job_id} started from the train dialog")
    ended = ("succeeded", "failed", "cancelled")
    WebDriverWait(driver, 120).until(lambda d: count("#trials tbody tr") or text("#job-state") in ended)
    check(count("#trials tbody tr") >= 1 and count("#job-trials svg circle") >= 1, "trials appear on the job page, in the table and on the plot")
    WebDriverWait(driver, 180).until(lambda d: text("#job-state") in ended)
    check(call(f"/v1/jobs/{job_id}").get("dataset_version") == 2, "the job records the version of the dataset it trains on")
    check(text("#job-state") == "succeeded", f"the job succeeded ({' '.join((text('#job-live') or '').split())[:300]!r})")
    trials = call(f"/v1/jobs/{job_id}/trials")["trials"]
    time.sleep(1.5)
    check(count("#trials tbody tr") == len(trials), f"the page lists the API's {len(trials)} trial(s)")
    audit("job")

    # 4. The evaluation: the slider, moved with the keyboard, shows the API's precision, recall and F1.
    driver.find_element(By.LINK_TEXT, "Evaluate the model").click()
    slider = until("#threshold")
    report = call(f"/v1/jobs/{job_id}/report")
    points = report["test"]["confidence_metrics"]
    check(len(points) == 101, "report.json has 101 thresholds")
    slider.send_keys(Keys.HOME)
    for _ in range(30):
        slider.send_keys(Keys.ARROW_RIGHT)
    for threshold in (30, 29):
        if threshold == 29:
            slider.send_keys(Keys.ARROW_LEFT)
        point = points[threshold]
        shown_threshold = find("#threshold-value").text
        values = {key: float(find(f"#{key}").get_attribute("data-value")) for key in ("precision", "recall", "f1")}
        texts = {key: find(f"#{key}").text for key in ("precision", "recall", "f1")}
        check(shown_threshold == f"{threshold / 100:.2f}" and all(values[k] == point[k] for k in values)
              and all(abs(float(texts[k]) - point[k]) <= 5e-5 for k in texts),
              f"at threshold {shown_threshold} the page shows precision {texts['precision']}, recall {texts['recall']}, F1 {texts['f1']}, the API's")
    # At 0.29 the per-label table and the confusion matrix are the API's at that threshold; a matrix cell
    # and a label's false negatives open their TEST images (thumbnails fetched with the token).
    at = call(f"/v1/jobs/{job_id}/report/threshold?threshold=0.29")
    wait.until(lambda d: "at threshold 0.29" in (text("#per-label caption") or ""))
    table_rows = driver.execute_script("""return [...document.querySelectorAll('#per-label tbody tr')].map(r =>
        [...r.querySelectorAll('td')].map(c => Number(c.textContent)))""")
    check(all(abs(row[0] - c["precision"]) <= 5e-5 and abs(row[1] - c["recall"]) <= 5e-5 and row[3:] == [c["true_positives"], c["false_positives"], c["false_negatives"]]
              for row, c in zip(table_rows, at["per_label"])) and len(table_rows) == len(at["per_label"]),
          "at threshold 0.29 the per-label precision, recall and counts are the API's")
    matrix = driver.execute_script("""return [...document.querySelectorAll('#matrix tbody tr')].map(r =>
        [...r.querySelectorAll('td')].map(c => Number(c.textContent)))""")
    check(matrix == at["confusion_matrix"]["counts"], "at threshold 0.29 the confusion matrix (with its no-prediction column) is the API's")
    cells = driver.find_elements(By.CSS_SELECTOR, "#matrix button.cell")
    off = [c for c in cells if c.get_attribute("data-true") != c.get_attribute("data-predicted")] or cells
    cell = off[0]
    t, p = int(cell.get_attribute("data-true")), int(cell.get_attribute("data-predicted"))
    cell.send_keys(Keys.ENTER)
    expected_cell = at["confusion_matrix"]["counts"][t][p]
    WebDriverWait(driver, 20).until(lambda d: d.execute_script(
        "return [...document.querySelectorAll('#cell-gallery img')].filter(i => i.src.startsWith('blob:') && i.complete && i.naturalWidth > 0).length")
        == min(24, expected_cell))
    check(f"{expected_cell} image(s)" in text("#cell-gallery"), f"a matrix cell ({t}, {p}) opens its {expected_cell} TEST image(s), with thumbnails")
    missed = max(at["per_label"], key=lambda c: c["false_negatives"])
    Select(find("#mistake-label")).select_by_visible_text(missed["label"])
    WebDriverWait(driver, 20).until(lambda d: f"{missed['false_negatives']} image(s)" in (text("#false-negatives") or "")
                                    or (missed["false_negatives"] == 0 and "None." in (text("#false-negatives") or "")))
    check(True, f"{missed['label']}'s false negatives at 0.29: the API's {missed['false_negatives']}")
    confused = max(at["per_label"], key=lambda c: c["false_positives"])
    Select(find("#mistake-label")).select_by_visible_text(confused["label"])
    shown_fp = min(24, confused["false_positives"])
    WebDriverWait(driver, 20).until(lambda d: (f"{confused['false_positives']} image(s)" in (text("#false-positives") or "")
                                               or (shown_fp == 0 and "None." in (text("#false-positives") or "")))
                                    and d.execute_script("return [...document.querySelectorAll('#false-positives img')]"
                                                         ".filter(i => i.src.startsWith('blob:') && i.naturalWidth > 0).length") == shown_fp)
    check(True, f"{confused['label']}'s false positives at 0.29: the API's {confused['false_positives']}, {shown_fp} thumbnail(s) shown")
    check(count("#evaluate-trials tbody tr") == len(trials) and count("#evaluate-trials svg circle") == len(trials),
          "the evaluation shows the search's trials as a table and a plot")
    Select(find("#curve-label")).select_by_visible_text(missed["label"])
    check(missed["label"] in find("#pr-curve svg title").get_attribute("textContent"), "a label's own precision-recall curve can be drawn")
    check(find("#test-accuracy").text == f"{100 * report['test']['accuracy']:.1f} %", "the TEST accuracy is the report's")
    precision = "bf16 products" if report["model"].get("precision") == "bf16" else "fp32"
    check(precision in find("#model-line").text and report["model"]["architecture"] in find("#model-line").text,
          f"the model line states the architecture and the report's precision ({precision})")
    find("input[name=matrix][value=fractions]").click()
    check(len(driver.find_elements(By.CSS_SELECTOR, "#matrix tbody tr")) == len(report["test"]["confusion_matrix"]["labels"]),
          "the confusion matrix has a row per label (counts and row fractions)")
    if readme_shot:
        driver.set_window_size(720, 900)
        driver.execute_script("window.scrollTo(0, 0)")
        time.sleep(0.3)
        driver.save_screenshot(readme_shot)
        driver.set_window_size(1000, 900)
    audit("evaluate")

    # 5. Predict an uploaded image: the page's label is the API's.
    driver.find_element(By.LINK_TEXT, "Predict").click()
    until("#predict-files").send_keys(os.path.abspath(image_path))
    label = until(".top-label", timeout=60).text
    with open(image_path, "rb") as f:
        expected = call(f"/v1/models/{job_id}/predict", "POST", f.read(), "image/png")["predictions"][0]["label"]
    check(label == expected, f"predict: the page shows {label!r}, the API's top label")
    curl = find(".curl code").text
    check(token not in curl and "$AUTOVISION_API_TOKEN" in curl, "the curl line names the token's variable, never the token")
    audit("predict")

    # 6. An API error is a readable message, not a blank page.
    driver.get(base + "/#/jobs/no-such-job")
    wait.until(lambda d: not d.find_element(By.ID, "error").get_attribute("hidden"))
    check("no job 'no-such-job'" in find("#error").text, f"a 404 shows the API's detail ({find('#error').text!r})")

    # 6b. A multi-label model's evaluation (MULTI_LABEL_JOB, trained by console-check.sh): mean AP
    # beside the baseline's as the API gives them, and the slider's figures at 0.30.
    multi = os.environ.get("MULTI_LABEL_JOB")
    if multi:
        driver.get(base + f"/#/jobs/{multi}/evaluate")
        wait.until(lambda d: "True and predicted labels" in (text("#main") or ""))
        report = call(f"/v1/jobs/{multi}/report")
        shown = find("#main .cards .card .value").text
        expected = f"{100 * report['test']['mean_average_precision']:.1f} %"
        check(shown == expected, f"multi-label evaluation: mean AP {shown!r} is the API's {expected!r}")
        slider = find("#threshold")
        slider.send_keys(Keys.HOME)
        for _ in range(30):
            slider.send_keys(Keys.ARROW_RIGHT)
        point = report["test"]["confidence_metrics"][30]
        check(abs(float(find("#precision").get_attribute("data-value")) - point["precision"]) < 1e-9
              and abs(float(find("#recall").get_attribute("data-value")) - point["recall"]) < 1e-9,
              "multi-label evaluation: the slider at 0.30 shows the API's precision and recall")
        check(len(driver.find_elements(By.CSS_SELECTOR, "table.matrix tbody tr")) == len(report["test"]["per_label"]),
              "multi-label evaluation: one co-occurrence row per label")
        at = call(f"/v1/jobs/{multi}/report/threshold?threshold=0.3")
        worst = max(at["per_label"], key=lambda c: c["false_positives"])
        Select(find("#mistake-label")).select_by_visible_text(worst["label"])
        expected_fp = f"{worst['false_positives']} image(s)" if worst["false_positives"] else "None."
        WebDriverWait(driver, 20).until(lambda d: "scoring 0.30 or more" in (text("#mistakes") or "")
                                        and expected_fp in (text("#false-positives") or ""))
        check(True, f"multi-label evaluation: {worst['label']}'s false positives at 0.30 are the API's {worst['false_positives']}")
        audit("evaluate-multi-label")
        driver.get(base + f"/#/jobs/{multi}")
        wait.until(lambda d: "Search trials" in (text("#main") or "") and "Best VALIDATION" in (text("#main") or ""))
        page = text("#main")
        check("Best VALIDATION mean AP" in page and "TEST subset accuracy" in page,
              f"multi-label job page: the VALIDATION score is named mean AP, the TEST one subset accuracy ({page[:160]!r})")

    # 7. The lists: the job and its model, with no click after the token.
    driver.get(base + "/#/")
    wait.until(lambda d: text("h1") == "Jobs and models" and job_id in (text("#main") or ""))
    check(len(driver.find_elements(By.LINK_TEXT, "Evaluate")) >= 1, "the home page lists the model")
    check(not driver.get_cookies() and token not in driver.current_url, "no cookie and no token in the URL")
    audit("home")
    collect_log()
    ok(f"the flow took {time.time() - started:.0f} s")
finally:
    try:
        collect_log()
    except Exception:  # the browser is gone: its log too
        pass
    driver.quit()

# The only errors the browser may log are the network's answers the flow asked for: the first load's 401
# (before the token was given) and the unknown job's 404s.
errors = [entry for entry in log if entry.get("level") == "SEVERE"]
unexpected = [e for e in errors if not (e.get("source") == "network" and (" 401 " in e["message"] or "/no-such-job" in e["message"]))]
check(not unexpected, "no JavaScript error in the browser's log" + ("" if not unexpected else ": " + "; ".join(e["message"] for e in unexpected[:5])))
print(f"console-check: {'FAILED ' + str(len(failures)) if failures else 'all passed'}", file=sys.stderr)
sys.exit(1 if failures else 0)
