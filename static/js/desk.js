/* The agent desk: keyboard shortcuts and the order-type picker. Vanilla JS on top of htmx.
 *
 * The call panel and the order column are redrawn by htmx, so every handler is delegated from the
 * document and looks its elements up when it runs.
 */
(function () {
  "use strict";

  var types = null; // the leaf order types with their pinyin, from /desk/types/
  var MAX_SHOWN = 12;
  var stash = null; // what the agent typed, kept across a redraw of the order column for the same call

  function byId(id) { return document.getElementById(id); }

  function loadTypes() {
    var desk = byId("desk");
    if (!desk || types !== null) { return; }
    types = [];
    fetch(desk.dataset.typesUrl, {credentials: "same-origin", headers: {"Accept": "application/json"}})
      .then(function (r) { return r.ok ? r.json() : {types: []}; })
      .then(function (data) {
        types = data.types || [];
        var picker = byId("type-picker");
        if (picker && document.activeElement === picker && picker.value) { openList(picker); }
      })
      .catch(function () { types = null; });
  }

  // ---- order type picker -------------------------------------------------------------------

  function normalise(text) { return (text || "").toLowerCase().replace(/[\s']/g, ""); }

  // Same ranking as views/screen.py type_rank: 0 starts with, 1 contains, 2 parent matches.
  function rank(entry, q) {
    if (!q) { return 0; }
    var own = [entry.name.toLowerCase(), entry.py, entry.initials];
    var i;
    for (i = 0; i < own.length; i++) { if (own[i].indexOf(q) === 0) { return 0; } }
    var more = own.concat([entry.name_en.toLowerCase(), entry.code]);
    for (i = 0; i < more.length; i++) { if (more[i].indexOf(q) >= 0) { return 1; } }
    var parent = [entry.parent_name.toLowerCase(), entry.parent_py, entry.parent_initials];
    for (i = 0; i < parent.length; i++) { if (parent[i] && parent[i].indexOf(q) >= 0) { return 2; } }
    return -1;
  }

  function matches(picker) {
    var q = normalise(picker.value);
    var utility = picker.dataset.utility || "";
    var found = [];
    (types || []).forEach(function (entry, position) {
      if (utility && entry.utility && entry.utility !== utility) { return; }
      var r = rank(entry, q);
      if (r >= 0) { found.push({r: r, p: position, entry: entry}); }
    });
    found.sort(function (a, b) { return a.r - b.r || a.p - b.p; });
    return found.slice(0, MAX_SHOWN).map(function (f) { return f.entry; });
  }

  function closeList() {
    var list = byId("type-list");
    var picker = byId("type-picker");
    if (list) { list.hidden = true; list.innerHTML = ""; }
    if (picker) { picker.setAttribute("aria-expanded", "false"); picker.removeAttribute("aria-activedescendant"); }
  }

  function setActive(list, index) {
    var items = list.querySelectorAll("[role=option]");
    if (!items.length) { return; }
    index = (index + items.length) % items.length;
    items.forEach(function (item, i) {
      var on = i === index;
      item.classList.toggle("active", on);
      item.setAttribute("aria-selected", on ? "true" : "false");
      if (on) {
        byId("type-picker").setAttribute("aria-activedescendant", item.id);
        item.scrollIntoView({block: "nearest"});
      }
    });
    list.dataset.active = String(index);
  }

  function openList(picker) {
    var list = byId("type-list");
    if (!list) { return; }
    var found = matches(picker);
    list.innerHTML = "";
    found.forEach(function (entry, i) {
      var li = document.createElement("li");
      li.className = "list-group-item list-group-item-action py-1";
      li.id = "type-option-" + entry.id;
      li.setAttribute("role", "option");
      li.dataset.id = entry.id;
      li.dataset.label = entry.label;
      li.dataset.index = String(i);
      li.textContent = entry.label;
      if (entry.parent) {
        var hint = document.createElement("small");
        hint.className = "text-body-secondary ms-2";
        hint.textContent = entry.parent;
        li.appendChild(hint);
      }
      list.appendChild(li);
    });
    if (!found.length) {
      var none = document.createElement("li");
      none.className = "list-group-item py-1 text-body-secondary";
      none.textContent = list.dataset.empty || "—";
      list.appendChild(none);
    }
    list.hidden = false;
    picker.setAttribute("aria-expanded", "true");
    if (found.length) { setActive(list, 0); }
  }

  function choose(item) {
    var picker = byId("type-picker");
    var hidden = byId("id_order_type");
    if (!picker || !hidden || !item || !item.dataset.id) { return; }
    hidden.value = item.dataset.id;
    picker.value = item.dataset.label;
    picker.dataset.chosenLabel = item.dataset.label;
    picker.classList.remove("is-invalid");
    closeList();
    hidden.dispatchEvent(new Event("change", {bubbles: true})); // refreshes the duplicates
  }

  function pickerKey(event, picker) {
    var list = byId("type-list");
    var open = list && !list.hidden;
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open) { openList(picker); return; }
      var step = event.key === "ArrowDown" ? 1 : -1;
      setActive(list, parseInt(list.dataset.active || "0", 10) + step);
    } else if (event.key === "Enter" && !event.ctrlKey && !event.metaKey) {
      event.preventDefault(); // never submits the order from the picker
      if (open) { choose(list.querySelector("[role=option].active")); }
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      closeList();
    }
  }

  document.addEventListener("input", function (event) {
    var picker = event.target;
    if (picker.id !== "type-picker") { return; }
    var hidden = byId("id_order_type");
    if (hidden && picker.value !== picker.dataset.chosenLabel && hidden.value) {
      hidden.value = "";
      hidden.dispatchEvent(new Event("change", {bubbles: true}));
    }
    if (types === null) { loadTypes(); }
    openList(picker);
  });

  document.addEventListener("mousedown", function (event) {
    var item = event.target.closest && event.target.closest("#type-list [role=option]");
    if (item) { event.preventDefault(); choose(item); return; }
    if (!event.target.closest || !event.target.closest("#type-field")) { closeList(); }
  });

  document.addEventListener("focusout", function (event) {
    if (event.target.id === "type-picker") { window.setTimeout(closeList, 150); }
  });

  // The picker offers the types of the chosen account's utility; the address follows the account.
  document.addEventListener("change", function (event) {
    var target = event.target;
    var picker = byId("type-picker");
    if (target.id === "id_account" && target.tagName === "SELECT") {
      var option = target.selectedOptions[0];
      if (picker && option) { picker.dataset.utility = option.dataset.utility || ""; }
      var address = byId("id_address");
      if (address && option) {
        var before = target.dataset.address || address.defaultValue;
        if (!address.value || address.value === before) { address.value = option.dataset.address || ""; }
        target.dataset.address = option.dataset.address || "";
      }
    } else if (target.id === "id_utility" && picker) {
      picker.dataset.utility = target.value;
    }
  });

  // ---- shortcuts -------------------------------------------------------------------------------

  function editable(el) {
    if (!el || !el.tagName) { return false; }
    var tag = el.tagName;
    return tag === "INPUT" || tag === "TEXTAREA" || tag === "SELECT" || el.isContentEditable;
  }

  function focusField(id) {
    var el = byId(id);
    if (!el) { return false; }
    el.focus();
    if (el.select && el.tagName === "INPUT") { el.select(); }
    return true;
  }

  // A shortcut may fire a moment after htmx swapped the panel in, before it bound the new forms:
  // bind them first, or the browser would post the form as a whole page.
  function press(button) {
    if (window.htmx && button.form) { window.htmx.process(button.form); }
    button.click();
  }

  function submit(form) {
    if (!form) { return; }
    if (window.htmx) { window.htmx.process(form); }
    if (form.requestSubmit) { form.requestSubmit(); } else { form.dispatchEvent(new Event("submit", {cancelable: true})); }
  }

  document.addEventListener("keydown", function (event) {
    var target = event.target;
    if (target.id === "type-picker") {
      pickerKey(event, target);
      if (event.defaultPrevented) { return; }
    }
    if (event.altKey && !event.ctrlKey && !event.metaKey) {
      var done = false;
      if (event.code === "KeyA") {
        var answer = byId("answer-button");
        if (answer) { press(answer); done = true; }
      } else if (event.code === "KeyN") {
        done = focusField("type-picker");
      } else if (event.code === "KeyR") {
        done = focusField("id_result");
      } else if (event.code === "KeyF") {
        done = focusField("find-q");
      }
      if (done) { event.preventDefault(); }
      return;
    }
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      var form = target.closest && target.closest("#order-form, #result-form");
      if (form) { event.preventDefault(); submit(form); }
      return;
    }
    if (event.key === "Enter" && !event.shiftKey && target.closest) {
      if (target.closest("#result-form") && target.tagName !== "BUTTON") {
        event.preventDefault();
        submit(target.closest("#result-form"));
      } else if (target.closest("#order-form") && target.tagName === "INPUT") {
        event.preventDefault(); // Ctrl+Enter submits the order; a stray Enter must not
      }
      return;
    }
    if (event.key === "Escape") {
      closeList();
      return;
    }
    if (!event.ctrlKey && !event.metaKey && !editable(target) && /^[1-9]$/.test(event.key)) {
      var pick = document.querySelector("#call-panel [data-pick='" + event.key + "']");
      if (pick) { event.preventDefault(); press(pick); }
    }
  });

  // ---- keep the agent's typing when the order column is redrawn for the same call -------------

  document.addEventListener("htmx:oobBeforeSwap", function (event) {
    var column = event.detail && event.detail.target;
    if (!column || column.id !== "order-column") { return; }
    var form = byId("order-form");
    stash = null;
    if (form) {
      stash = {
        call: form.dataset.call,
        content: (byId("id_content") || {}).value || "",
        type: (byId("id_order_type") || {}).value || "",
        label: (byId("type-picker") || {}).value || "",
        name: (byId("id_caller_name") || {}).value || "",
      };
    }
  });

  document.addEventListener("htmx:oobAfterSwap", function (event) {
    var column = event.detail && event.detail.target;
    if (!column || column.id !== "order-column" || !stash) { return; }
    var form = byId("order-form");
    if (form && form.dataset.call === stash.call) {
      var content = byId("id_content");
      if (content && !content.value) { content.value = stash.content; }
      var hidden = byId("id_order_type");
      var picker = byId("type-picker");
      if (hidden && picker && !hidden.value && stash.type) {
        hidden.value = stash.type;
        picker.value = stash.label;
        picker.dataset.chosenLabel = stash.label;
      }
      var name = byId("id_caller_name");
      if (name && !name.value) { name.value = stash.name; }
    }
    stash = null;
  });

  // A poll answered while one of the agent's own actions was under way may carry an older state of
  // the call than the action's answer, already shown: drop it rather than redraw (and lose focus).
  function parseStamp(stamp) {
    var parts = /^(\d+)\.(\d+)$/.exec(stamp || "");
    return parts ? {call: parts[1], version: parseInt(parts[2], 10)} : null;
  }

  document.addEventListener("htmx:beforeSwap", function (event) {
    var detail = event.detail;
    if (!detail || !detail.elt || detail.elt.id !== "call-panel" || detail.requestConfig.verb !== "get") { return; }
    var found = /id="desk-stamp" name="stamp" value="([^"]*)"/.exec(detail.serverResponse || "");
    var current = byId("desk-stamp");
    if (!found || !current) { return; }
    var incoming = parseStamp(found[1]);
    var shown = parseStamp(current.value);
    if (found[1] === current.value ||
        (incoming && shown && incoming.call === shown.call && incoming.version < shown.version)) {
      detail.shouldSwap = false;
    }
  });

  // Signed in: leave the extension box, so that the digit keys pick callers instead of typing there.
  document.addEventListener("htmx:afterSettle", function (event) {
    var bar = event.detail && event.detail.target;
    if (!bar || bar.id !== "extension-bar" || bar.querySelector(".invalid-feedback")) { return; }
    var active = document.activeElement;
    if (active && bar.contains(active)) { active.blur(); }
  });

  document.addEventListener("DOMContentLoaded", loadTypes);
}());
