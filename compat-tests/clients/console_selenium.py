"""Drives Corral's web console (/ui) in headless Chromium (Debian's
chromium and chromium-driver, python3-selenium), as an operator would.

  console_selenium.py PLAN.json

PLAN names the phase (`read`: browsing, and a read-only console refusing
an edit; `edit`: a console that takes edits), the members' console URLs
by role, what the tree holds, and where screenshots go (the test keeps
them as artefacts). Each step checks
what the page shows; the first check that fails ends the run with exit 1
and a message. The last line printed is a JSON summary.
"""

import json
import sys
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By

PLAN = json.load(open(sys.argv[1]))
SHOTS = PLAN["screenshots"]
WAIT = 15.0


def fail(why):
    print("FAILED: " + why, flush=True)
    sys.exit(1)


def check(cond, why):
    if not cond:
        fail(why)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = "/usr/bin/chromium"
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
              "--window-size=1400,900", "--no-first-run", "--disable-extensions"]:
        opts.add_argument(a)
    return webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=opts)


def until(d, what, f):
    """Polls f() until it returns something true; fails after WAIT s."""
    deadline = time.time() + WAIT
    last = None
    while time.time() < deadline:
        try:
            v = f()
            if v:
                return v
        except Exception as e:  # the page is still rendering
            last = e
        time.sleep(0.1)
    shot(d, "failed")
    fail("waited %.0f s for %s (%s); message: %r" % (WAIT, what, last, text(d, "message")))


def text(d, id_):
    try:
        return d.find_element(By.ID, id_).text
    except Exception:
        return None


def shot(d, name):
    d.save_screenshot("%s/%s.png" % (SHOTS, name))


def child(d, name):
    return until(d, "child %r listed" % name,
                 lambda: [a for a in d.find_elements(By.CSS_SELECTOR, "#children li a") if a.text == name][0])


def open_path(d, path):
    tab(d, "tree")
    box = d.find_element(By.ID, "path")
    box.clear()
    box.send_keys(path)
    d.find_element(By.ID, "go").click()
    until(d, "node %s shown" % path, lambda: d.find_element(By.ID, "node-path").text == path)


def tab(d, name):
    d.find_element(By.ID, "tab-" + name).click()


def type_into(d, id_, value):
    box = d.find_element(By.ID, id_)
    box.clear()
    box.send_keys(value)


def login(d, user, password):
    type_into(d, "login-user", user)
    type_into(d, "login-password", password)
    d.find_element(By.ID, "login").click()
    until(d, "logged in as " + user,
          lambda: d.find_element(By.ID, "user").get_attribute("data-user") == "digest:" + user)
    ids = text(d, "user")
    check("digest:%s" % user in ids.split("(", 1)[-1], "whoAmI does not show the login: %r" % ids)


def ensemble_rows(d):
    rows = d.find_elements(By.CSS_SELECTOR, "#ensemble-table tbody tr")
    return {r.get_attribute("data-id"): (r.get_attribute("data-role"), r.get_attribute("class")) for r in rows}


def read_phase(d, summary):
    # 1. The tree on the leader: walk from / into a node, its data and Stat.
    d.get(PLAN["leader"] + "/ui")
    until(d, "the page", lambda: "member" in (text(d, "server") or ""))
    child(d, "app").click()
    until(d, "/app", lambda: d.find_element(By.ID, "node-path").text == "/app")
    child(d, "config").click()
    until(d, "/app/config's data", lambda: text(d, "data-format").startswith("JSON"))
    data = text(d, "data")
    check(json.loads(data) == PLAN["config"], "the JSON shown is not the node's: %r" % data)
    check("\n  " in data, "the JSON is not pretty-printed: %r" % data)
    check(text(d, "stat-version") == str(PLAN["config_version"]),
          "version %r, expected %r" % (text(d, "stat-version"), PLAN["config_version"]))
    check(text(d, "stat-mtime").startswith(time.strftime("%Y-")), "mtime not shown as a date: %r" % text(d, "stat-mtime"))
    check(text(d, "stat-czxid").startswith("0x"), "czxid %r" % text(d, "stat-czxid"))
    open_path(d, "/app")
    until(d, "/app's quota", lambda: "zookeeper_limits: count=1000000,bytes=-1" in text(d, "quota"))
    child(d, "config").click()
    until(d, "/app/config again", lambda: text(d, "data-format").startswith("JSON"))
    acl = d.find_element(By.ID, "acl").text
    check("world" in acl and "anyone" in acl, "ACL %r" % acl)
    summary["config"] = {"version": text(d, "stat-version"), "mtime": text(d, "stat-mtime")}
    shot(d, "tree")

    # Binary data is shown as hex.
    open_path(d, "/app/bin")
    until(d, "hex", lambda: text(d, "data-format").startswith("binary"))
    check(text(d, "data").startswith("000000  00 ff"), "hex dump %r" % text(d, "data"))

    # A big family is paged, and filtered by prefix.
    open_path(d, "/app/many")
    n = PLAN["many"]
    until(d, "the first page", lambda: text(d, "count").startswith("1–200 of %d" % n))
    check(len(d.find_elements(By.CSS_SELECTOR, "#children li")) == 200, "first page size")
    d.find_element(By.ID, "next").click()
    until(d, "the second page", lambda: text(d, "count").startswith("201–400 of %d" % n))
    d.find_element(By.ID, "prefix").send_keys("c-0001")
    until(d, "the prefix filter", lambda: text(d, "count").startswith("1–10 of 10"))
    summary["paging"] = text(d, "count")

    # A family of 100,000: the browser gets one page at a time.
    big = PLAN["big"]
    started = time.time()
    open_path(d, "/app/big")
    until(d, "the big family's first page", lambda: text(d, "count").startswith("1–200 of %d" % big))
    d.find_element(By.ID, "next").click()
    until(d, "its second page", lambda: text(d, "count").startswith("201–400 of %d" % big))
    check([a.text for a in d.find_elements(By.CSS_SELECTOR, "#children li a")][:2] == ["c10177", "c10178"],
          "the second page does not follow the first in name order")
    type_into(d, "prefix", "c9999")
    until(d, "its prefix filter", lambda: text(d, "count").startswith("1–11 of 11"))
    summary["big_family_seconds"] = round(time.time() - started, 2)

    # A session's ephemeral, linked to its session.
    open_path(d, PLAN["ephemeral"])
    owner = until(d, "the ephemeral owner", lambda: text(d, "owner"))
    check(owner == PLAN["owner"], "owner %r, expected %r" % (owner, PLAN["owner"]))
    d.find_element(By.ID, "owner").click()
    row = until(d, "the owner's row highlighted",
                lambda: d.find_element(By.CSS_SELECTOR, "#sessions-table tr.hl").text)
    check(row.startswith(owner), "the highlighted row is not the owner's: %r" % row)
    check(PLAN["ephemeral"] in row, "the session's row lacks its ephemeral: %r" % row)
    summary["sessions"] = len(d.find_elements(By.CSS_SELECTOR, "#sessions-table tbody tr"))
    shot(d, "sessions")

    # A node this (anonymous) session may not read: ZooKeeper's NOAUTH.
    open_path(d, PLAN["secret"])
    until(d, "NOAUTH on the secret", lambda: "NOAUTH (-102)" in text(d, "message"))

    # 2. The ensemble, from the leader and from a follower: every member's role.
    tab(d, "ensemble")
    rows = until(d, "three members", lambda: (lambda r: r if len(r) == 3 else None)(ensemble_rows(d)))
    roles = sorted(v[0] for v in rows.values())
    check(roles == ["follower", "follower", "leader"], "roles on the leader: %r" % rows)
    leader_row = [k for k, v in rows.items() if v[0] == "leader"][0]
    check(rows[leader_row][1] == "leader", "the leader's row is not highlighted")
    check(leader_row == str(PLAN["leader_id"]), "leader %r, expected %r" % (leader_row, PLAN["leader_id"]))
    # The ensemble is idle: every member's lag comes down to 0.
    until(d, "every member's lag at 0", lambda: [
        c.text for c in d.find_elements(By.CSS_SELECTOR, "#ensemble-table tbody tr td:nth-child(8)")] == ["0"] * 3)
    summary["roles_on_leader"] = rows
    shot(d, "ensemble")

    tab(d, "load")
    until(d, "the charts", lambda: len(d.find_elements(By.CSS_SELECTOR, "#charts svg")) == 6)
    until(d, "some requests charted", lambda: "GetData" in d.find_element(By.ID, "charts").text)
    shot(d, "load")

    d.get(PLAN["follower"] + "/ui")
    tab(d, "ensemble")
    rows = until(d, "three members on a follower", lambda: (lambda r: r if len(r) == 3 else None)(ensemble_rows(d)))
    check(sorted(v[0] for v in rows.values()) == ["follower", "follower", "leader"], "roles on a follower: %r" % rows)
    summary["roles_on_follower"] = rows

    # 3. A read-only console: logged in, still no way to edit.
    d.get(PLAN["read_only"] + "/ui")
    login(d, "alice", "alice-pw")
    check(not d.find_element(By.ID, "edits").is_displayed(), "edit controls shown on a read-only console")
    # Even a hand-made request is refused.
    refused = d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/ui/api/edit', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({op: 'set', path: '/app/config', data: 'changed'})})
          .then(r => r.json().then(j => done([r.status, j.error])));
    """)
    check(refused[0] == 403 and "read-only" in refused[1], "edit on a read-only console: %r" % refused)
    summary["read_only_edit"] = refused

def edit_phase(d, summary):
    # 4. A console with edits: bob has no right on the secret, alice has.
    d.get(PLAN["editable"] + "/ui")
    until(d, "the page", lambda: "member" in (text(d, "server") or ""))
    refused = d.execute_async_script("""
        const done = arguments[arguments.length - 1];
        fetch('/ui/api/edit', {method: 'POST', headers: {'Content-Type': 'application/json'},
          body: JSON.stringify({op: 'set', path: '/app/config', data: 'anonymous'})})
          .then(r => r.json().then(j => done([r.status, j.error])));
    """)
    check(refused == [403, "log in to edit"], "an anonymous edit: %r" % refused)
    login(d, "bob", "bob-pw")
    until(d, "edit controls", lambda: d.find_element(By.ID, "edits").is_displayed())
    open_path(d, "/app/config")
    until(d, "the data to edit", lambda: d.find_element(By.ID, "edit-data").get_attribute("value") != "")
    area = d.find_element(By.ID, "edit-data")
    area.clear()
    area.send_keys(PLAN["new_config"])
    d.find_element(By.ID, "edit-set").click()
    until(d, "the set done", lambda: text(d, "edit-result").startswith("done: set"))
    until(d, "the new version", lambda: text(d, "stat-version") == str(PLAN["config_version"] + 1))
    open_path(d, PLAN["secret"])
    type_into(d, "create-name", "by-bob")
    d.find_element(By.ID, "edit-create").click()
    until(d, "NOAUTH shown for bob", lambda: text(d, "edit-result") == "NOAUTH (-102)")
    summary["bob_create"] = text(d, "edit-result")
    shot(d, "noauth")
    d.find_element(By.ID, "logout").click()
    until(d, "logged out", lambda: d.find_element(By.ID, "user").get_attribute("data-user") == "")
    login(d, "alice", "alice-pw")
    open_path(d, PLAN["secret"])
    until(d, "alice reads the secret", lambda: text(d, "stat-version") is not None and text(d, "message") == "")
    type_into(d, "create-name", "by-alice")
    type_into(d, "create-data", "hello")
    d.find_element(By.ID, "edit-create").click()
    until(d, "alice's create", lambda: text(d, "edit-result").startswith("done: create"))
    child(d, "by-alice")
    summary["alice_create"] = text(d, "edit-result")
    # A node created, then deleted with the Delete button.
    type_into(d, "create-name", "temp")
    d.find_element(By.ID, "edit-create").click()
    child(d, "temp").click()
    until(d, "/secret/temp", lambda: d.find_element(By.ID, "node-path").text == PLAN["secret"] + "/temp")
    d.find_element(By.ID, "edit-delete").click()
    until(d, "back at the parent", lambda: d.find_element(By.ID, "node-path").text == PLAN["secret"])
    until(d, "temp gone from the parent's list", lambda: (lambda names: "by-alice" in names and "temp" not in names)(
        [a.text for a in d.find_elements(By.CSS_SELECTOR, "#children li a")]))
    # An ACL set from the page.
    child(d, "by-alice").click()
    until(d, "by-alice's ACL", lambda: text(d, "stat-aversion") == "0")
    type_into(d, "acl-text", "world:anyone:r")
    d.find_element(By.ID, "edit-acl").click()
    until(d, "the new ACL", lambda: text(d, "stat-aversion") == "1" and "anyone" in text(d, "acl"))

summary = {}
d = browser()
try:
    {"read": read_phase, "edit": edit_phase}[PLAN["phase"]](d, summary)
finally:
    d.quit()

print(json.dumps(summary, sort_keys=True), flush=True)
